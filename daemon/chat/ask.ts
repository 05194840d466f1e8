import type { AskParams, AskResult } from '../../protocol/chat';
import type { ResolvedModel } from '../catalog/model-catalog';
import type { Router } from '../catalog/router';
import { AidError, cancelled } from '../errors/aid-error';
import type { Logger } from '../log/logger';
import type { PricedCall } from '../pricing/price-book';
import type { ChatMessage } from '../providers/types';
import { fitHistory, type Sessions } from '../sessions/sessions';
import { GUARDED_MAX_OUTPUT_TOKENS } from '../budget/spend-guard';
import type { ContextAttacher, IndexProgressListener } from './context-attach';
import type { HostAttempts, Notice } from './host-attempts';

export type { AskLimits, Notice } from './host-attempts';
export type { IndexProgressListener } from './context-attach';

/** What an ask tells its client besides the text: notices, its start, the index it waits for. */
export interface AskEvents {
  onNotice?: (notice: Notice) => void;
  /** Once, when a host takes the question (before any text): its session and the model asked. */
  onStart?: (start: { ref: string; sessionId: string }) => void;
  onIndexProgress?: IndexProgressListener;
}

export interface AskDeps {
  router: Router;
  /** Conversations: each ask is a turn of one, its history sent to the model. */
  sessions: Sessions;
  /** Project context put before each question (the intelligence engine). */
  context: ContextAttacher;
  /** The calls themselves: budgets, retries, failover, the ledger. */
  attempts: HostAttempts;
  logger: Logger;
  defaultModel: () => string | undefined;
  /** The config's system prompt, used when an ask gives none. */
  systemPrompt?: () => string | undefined;
  now?: () => number;
}

/**
 * A turn's cost: what its calls were charged, failed ones included; unknown (null) when a call
 * that used tokens had no price. Sessions, chat and the ledger show the same figure.
 */
function turnCost(charges: PricedCall[]): number | null {
  let sum = 0;
  for (const charge of charges) {
    if (charge.costUsd === null) return null;
    sum += charge.costUsd;
  }
  return sum;
}

/**
 * A question's life: the session it continues, the model it goes to, the project context put
 * before it, the history that fits the model's window, then the calls (HostAttempts), and the
 * turn recorded with what was answered and what it cost. Nothing is written for a question that
 * was never sent (refused, cancelled or unroutable).
 */
export class AskService {
  private readonly now: () => number;

  constructor(private readonly deps: AskDeps) {
    this.now = deps.now ?? Date.now;
  }

  async ask(params: AskParams, onDelta: (text: string) => void, signal: AbortSignal, events: AskEvents = {}): Promise<AskResult> {
    const onNotice = events.onNotice ?? ((): void => undefined);
    const { sessions } = this.deps;
    const started = this.now();
    // A session id that is wrong is said before anything else happens; -c is this project's latest.
    const continuing = params.newSession
      ? undefined
      : params.sessionId
        ? sessions.resolve(params.sessionId)
        : params.continueLast && params.project
          ? sessions.latestIn(params.project)
          : undefined;
    // A continued session keeps its model unless the user names another (as chat's /resume does).
    const sessionRef = continuing && params.model === undefined ? sessions.get(continuing)?.lastRef : undefined;
    // Routing first: a request for a model nobody serves leaves no turn behind.
    const candidates = await this.route(sessionRef ? { ...params, model: sessionRef } : params, signal);
    const window = Math.min(...candidates.map((c) => c.contextWindow ?? Number.POSITIVE_INFINITY));
    // Project context goes before the question; the session keeps the user's own words.
    const context = await this.deps.context.attach(params, Number.isFinite(window) ? window : undefined, signal, events.onIndexProgress);
    // Cancelled while context was gathered: nothing was asked, so no turn is left behind.
    if (signal.aborted) throw cancelled(continuing ? { sessionId: continuing } : {});
    if (context.notice) onNotice({ kind: 'warning', message: context.notice });
    const turn = await sessions.begin({
      ...(continuing ? { sessionId: continuing } : {}),
      prompt: params.prompt,
      ...(params.project ? { project: params.project } : {}),
    });
    const system = params.system ?? this.deps.systemPrompt?.();
    const systemMessages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    // A history longer than the model's window loses its oldest turns (whole ones), and the user is told.
    let history = turn.history;
    if (Number.isFinite(window)) {
      const fitted = fitHistory(turn.history, `${system ?? ''}\n${context.prompt}`, Math.max(0, window - GUARDED_MAX_OUTPUT_TOKENS));
      if (fitted.droppedTurns > 0) {
        history = fitted.kept;
        onNotice({
          kind: 'warning',
          message:
            `this session no longer ` +
            `fits the ${window}-token window of ` +
            `${candidates[0]?.ref ?? 'the model'}: its ${fitted.droppedTurns} earliest turn${fitted.droppedTurns === 1 ? ' was' : 's were'} left out`,
        });
      }
    }
    let answer = '';
    let lastRef = candidates[0]?.ref ?? '';
    let sent = false;
    let announced = false;
    const charges: PricedCall[] = [];
    const attached = context.attached ? { context: context.attached.files } : {};
    try {
      const result = await this.deps.attempts.run({
        params,
        messages: [...systemMessages, ...history, { role: 'user', content: context.prompt }],
        sessionId: turn.sessionId,
        turn: turn.index,
        candidates,
        started,
        signal,
        onDelta: (text) => {
          answer += text;
          sessions.progress(turn.sessionId, turn.index, answer).catch((error: unknown) => this.deps.logger.warn('could not save a partial answer', { error }));
          onDelta(text);
        },
        onNotice: (n) => {
          if (n.next) lastRef = n.next;
          onNotice(n);
        },
        // The turn (and a new session) is written only when a call is about to go out.
        beforeSend: async () => {
          if (sent) return;
          sent = true;
          await turn.commit();
        },
        // Once, when a host first takes the question: a host that failed before it was announced.
        onAccepted: (ref) => {
          if (announced) return;
          announced = true;
          events.onStart?.({ ref, sessionId: turn.sessionId });
        },
        onCharged: (charge) => charges.push(charge),
      });
      await sessions.finish(turn.sessionId, turn.index, {
        assistant: answer,
        ref: result.ref,
        usage: result.usage,
        costUsd: turnCost(charges),
        latencyMs: result.latencyMs,
        ttftMs: result.ttftMs,
        finishReason: result.finishReason,
        complete: true,
        ...attached,
      });
      context.feedback?.(answer);
      return context.attached ? { ...result, context: context.attached } : result;
    } catch (error) {
      // Kept, marked incomplete: the question, as much of the answer as arrived, and what it cost.
      if (sent) {
        await sessions
          .finish(turn.sessionId, turn.index, {
            assistant: answer,
            ref: lastRef,
            complete: false,
            costUsd: turnCost(charges),
            error: (error as Error).message,
            ...attached,
          })
          .catch((e: unknown) => this.deps.logger.error('could not save a cut turn', { error: e }));
      }
      // A session that exists can be continued after a refusal or a cancel: the error names it.
      if (!(error instanceof AidError)) throw error;
      if (sent) throw error.withTurn({ sessionId: turn.sessionId, costUsd: turnCost(charges) });
      throw continuing ? error.withTurn({ sessionId: turn.sessionId }) : error;
    } finally {
      turn.done();
    }
  }

  private async route(params: AskParams, signal: AbortSignal): Promise<ResolvedModel[]> {
    try {
      // Routing may ask hosts for their lists; a cancel stops that too.
      return await this.deps.router.route(params.model, this.deps.defaultModel(), signal);
    } catch (error) {
      if (signal.aborted) throw cancelled();
      throw error;
    }
  }
}

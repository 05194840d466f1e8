import { randomUUID } from 'node:crypto';
import { ResponseError } from 'vscode-jsonrpc';
import type { AskNoticeParams, AskParams, AskResult, Usage } from '../../protocol/chat';
import { ErrorCodes } from '../../protocol/errors';
import { chatModels, type HostRegistry, type ResolvedModel } from '../catalog/registry';
import type { Ledger } from '../ledger/ledger';
import type { Logger } from '../log/logger';
import type { Budgets, Reservation, SpendTarget } from '../budget/budgets';
import { usd } from '../pricing/money';
import type { ContextAttacher } from './context-attach';
import type { PriceBook, PricedCall, PriceTarget } from '../pricing/price-book';
import type { ModelInfo } from '../../protocol/models';
import { ProviderError, zeroUsage, type ChatMessage } from '../providers/types';
import { fitHistory, type Sessions } from '../sessions/sessions';

export interface AskLimits {
  /** Longest silence in a stream, once its text has begun, before the attempt is abandoned. */
  idleTimeoutMs: number;
  /**
   * Longest silence before the first text (at least idleTimeoutMs): models load and think first,
   * some in silence (OpenAI's reasoning), some showing progress that resets it.
   */
  firstTokenTimeoutMs: number;
  /** Longest retry-after the daemon waits out before retrying the same host. */
  maxRetryWaitMs: number;
}

export interface AskDeps {
  registry: HostRegistry;
  ledger: Ledger;
  logger: Logger;
  defaultModel: () => string | undefined;
  /** Prices calls; without it only Ollama (free) and provider-reported costs are known. */
  prices?: PriceBook;
  /** Hard budgets checked before each call; none when absent. */
  budgets?: Budgets;
  /** Conversations: each ask is a turn of one, its history sent to the model. */
  sessions?: Sessions;
  /** Project context put before each question (the intelligence engine); none when absent. */
  context?: ContextAttacher;
  /** The kind of task a prompt is (recorded with each call, for `aic cost --savings`). */
  classify?: (prompt: string) => string;
  /** What a hard-budget refusal does: refuse (default), or downgrade to the cheapest model that fits. */
  onBudgetRefusal?: () => 'refuse' | 'downgrade';
  /** Told after each call is recorded (budget alerts check then). */
  onSpend?: () => void;
  limits?: () => AskLimits;
  now?: () => number;
  /** Waits, abortably; injected so tests need not sleep through retry-after. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type Notice = Omit<AskNoticeParams, 'streamToken'>;

/**
 * Output cap of a request a hard budget or --max-cost covers: its worst case must be bounded, so
 * the provider is told to stop there.
 */
const GUARDED_MAX_OUTPUT_TOKENS = 4096;

/** Retries of one host before giving up on it (when no other host can take the request). */
const MAX_RETRIES = 2;
const DEFAULT_LIMITS: AskLimits = { idleTimeoutMs: 120_000, firstTokenTimeoutMs: 300_000, maxRetryWaitMs: 20_000 };

/**
 * Abandons a stream that goes silent: firstMs of silence before the first text (any event, such as
 * a chunk of thinking, restarts it), idleMs once text flows. There is no limit on the whole
 * request: a long answer that keeps streaming is never cut. One timer per stream: an event only
 * moves the deadline, and a timer that fires early sleeps again for the rest (re-arming per token
 * showed at a hundred streams).
 */
class IdleWatchdog {
  private readonly controller = new AbortController();
  private deadline: number;
  private window: number;
  private timer: NodeJS.Timeout;
  timedOut: ProviderError | undefined;

  constructor(
    private readonly host: string,
    private readonly idleMs: number,
    firstMs: number,
  ) {
    this.window = firstMs;
    this.deadline = Date.now() + firstMs;
    this.timer = setTimeout(this.check, firstMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private textSeen = false;

  /** An event arrived; `text` when it was part of the answer. */
  heard(text: boolean): void {
    if (text && !this.textSeen) {
      // The first text: from now on the (shorter) idle window, whose deadline the pending
      // first-text timer would pass.
      this.textSeen = true;
      this.window = this.idleMs;
      clearTimeout(this.timer);
      this.timer = setTimeout(this.check, this.idleMs);
    }
    this.deadline = Date.now() + this.window;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    const left = this.deadline - Date.now();
    if (left > 0) {
      this.timer = setTimeout(this.check, left);
      return;
    }
    this.timedOut = new ProviderError('timeout', `host ${this.host} sent nothing for ${Math.round(this.window / 1000)} s; abandoned the request`);
    this.controller.abort(this.timedOut);
  };
}

/** A failed attempt, with how far it got: after text has streamed there is no silent retry. */
class AttemptFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly received: number,
    /** What the failed attempt was charged (usually nothing: it failed before any text). */
    readonly costUsd: number,
  ) {
    super((failure as Error).message);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('cancelled', 'request cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ProviderError('cancelled', 'request cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Failures worth another host: the host, not the request, is the problem. A model the host no
 * longer has (deleted behind our back, so its cached list was wrong) is one of them.
 */
function movesToNextHost(error: unknown): boolean {
  return error instanceof ProviderError && ['unreachable', 'timeout', 'server', 'rate_limited', 'quota', 'not_found'].includes(error.kind);
}

/** Failures the same host may get over after a wait (a 429/529 or a passing 5xx). */
function retryable(error: unknown): error is ProviderError {
  return error instanceof ProviderError && (error.kind === 'rate_limited' || error.kind === 'server');
}

/**
 * A request's life: route the model to its hosts, stream the answer from the first that works,
 * and record every call whatever happens. Before any text has arrived, a host that is down,
 * overloaded or rate limiting hands the request to the next host serving the model (the client is
 * told); after text has arrived the error is reported with what was received, never hidden.
 */
export class AskService {
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly deps: AskDeps) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? abortableSleep;
  }

  async ask(params: AskParams, onDelta: (text: string) => void, signal: AbortSignal, onNotice: (notice: Notice) => void = () => undefined): Promise<AskResult> {
    const sessions = this.deps.sessions;
    // A session id that is wrong is said before anything else happens.
    const continuing = sessions && params.sessionId && !params.newSession ? sessions.resolve(params.sessionId) : undefined;
    if (!sessions) return this.askOnce(params, [{ role: 'user', content: params.prompt }], params.sessionId ?? randomUUID(), onDelta, signal, onNotice);
    // A continued session keeps its model unless the user names another (as chat's /resume does).
    const sessionRef = continuing && params.model === undefined ? sessions.get(continuing)?.lastRef : undefined;
    // Routing first: a request for a model nobody serves leaves no empty turn behind.
    const candidates = await this.route(sessionRef ? { ...params, model: sessionRef } : params, signal);
    const window = Math.min(...candidates.map((c) => c.contextWindow ?? Number.POSITIVE_INFINITY));
    // Project context goes before the question; the session keeps the user's own words.
    const context = this.deps.context ? await this.deps.context.attach(params, Number.isFinite(window) ? window : undefined, signal) : { prompt: params.prompt };
    // Cancelled while context was gathered: nothing was asked, so no turn is left behind.
    if (signal.aborted) throw new ResponseError(ErrorCodes.Cancelled, 'request cancelled', {});
    if (context.notice) onNotice({ kind: 'warning', message: context.notice });
    const turn = await sessions.begin({ ...(continuing ? { sessionId: continuing } : {}), prompt: params.prompt });
    // A history longer than the model's window loses its oldest turns (whole ones), and the user is told.
    let history = turn.history;
    if (Number.isFinite(window)) {
      const fitted = fitHistory(turn.history, context.prompt, Math.max(0, window - GUARDED_MAX_OUTPUT_TOKENS));
      if (fitted.droppedTurns > 0) {
        history = fitted.kept;
        onNotice({ kind: 'warning', message: `this session no longer fits the ${window}-token window of ${candidates[0]?.ref ?? 'the model'}: its ${fitted.droppedTurns} earliest turn${fitted.droppedTurns === 1 ? ' was' : 's were'} left out` });
      }
    }
    let answer = '';
    let lastRef = candidates[0]?.ref ?? '';
    try {
      const result = await this.askOnce(
        params,
        [...history, { role: 'user', content: context.prompt }],
        turn.sessionId,
        (text) => {
          answer += text;
          sessions.progress(turn.sessionId, turn.index, answer).catch((error: unknown) => this.deps.logger.warn('could not save a partial answer', { error }));
          onDelta(text);
        },
        signal,
        (n) => {
          if (n.next) lastRef = n.next;
          onNotice(n);
        },
        candidates,
      );
      await sessions.finish(turn.sessionId, turn.index, {
        assistant: answer,
        ref: result.ref,
        usage: result.usage,
        costUsd: result.costUsd,
        latencyMs: result.latencyMs,
        ttftMs: result.ttftMs,
        finishReason: result.finishReason,
        complete: true,
        ...(context.attached ? { context: context.attached.files } : {}),
      });
      context.feedback?.(answer);
      return context.attached ? { ...result, context: context.attached } : result;
    } catch (error) {
      // Kept, marked incomplete: the question, and as much of the answer as arrived.
      await sessions
        .finish(turn.sessionId, turn.index, { assistant: answer, ref: lastRef, complete: false, error: (error as Error).message, ...(context.attached ? { context: context.attached.files } : {}) })
        .catch((e: unknown) => this.deps.logger.error('could not save a cut turn', { error: e }));
      // The turn exists now, so the client can continue the session even after a refusal or a cancel.
      throw error instanceof ResponseError ? new ResponseError(error.code, error.message, { ...(error.data as object | undefined), sessionId: turn.sessionId }) : error;
    } finally {
      turn.done();
    }
  }

  private async route(params: AskParams, signal: AbortSignal): Promise<ResolvedModel[]> {
    try {
      // Routing may ask hosts for their lists; a cancel stops that too.
      return await this.deps.registry.route(params.model, this.deps.defaultModel(), signal);
    } catch (error) {
      if (signal.aborted) throw new ResponseError(ErrorCodes.Cancelled, 'request cancelled', {});
      throw error;
    }
  }

  private async askOnce(
    params: AskParams,
    messages: ChatMessage[],
    sessionId: string,
    onDelta: (text: string) => void,
    signal: AbortSignal,
    onNotice: (notice: Notice) => void,
    routed?: ResolvedModel[],
  ): Promise<AskResult> {
    const started = this.now();
    const candidates = routed ?? (await this.route(params, signal));
    // The whole conversation goes to the model, so all of it counts toward the worst case.
    const promptBytes = messages.reduce((n, m) => n + Buffer.byteLength(m.content, 'utf8') + 4, 0);
    const first = candidates[0];
    // Cancelled while the model was being resolved: nothing was called, nothing to record.
    if (signal.aborted) throw new ResponseError(ErrorCodes.Cancelled, 'request cancelled', { host: first.host.name });
    const warnings: string[] = [];
    const notice = (n: Notice): void => {
      if (n.kind !== 'retry') warnings.push(n.message);
      onNotice(n);
    };
    let downgraded = false;
    // What failed attempts of this request were charged: --max-cost covers them all.
    let chargedSoFar = 0;
    for (let index = 0; index < candidates.length; index++) {
      const target = candidates[index];
      const next = candidates[index + 1];
      for (let retry = 0; ; retry++) {
        const held = await this.hold(target, params, promptBytes, sessionId, chargedSoFar);
        if ('refused' in held) {
          if (!next) {
            // Configured to downgrade: the cheapest model that fits (local first) takes the request, once.
            const fallback = downgraded || this.deps.onBudgetRefusal?.() !== 'downgrade' ? undefined : await this.downgrade(held.refused, signal);
            if (!fallback) throw held.refused;
            downgraded = true;
            candidates.push(fallback);
            notice({ kind: 'failover', message: `${held.refused.message.split('; models that fit')[0]}; downgrading to ${fallback.ref}`, host: target.host.name, next: fallback.ref });
            break;
          }
          notice({ kind: 'failover', message: `${target.ref}: ${held.refused.message}; trying ${next.ref}`, host: target.host.name, next: next.ref });
          break;
        }
        try {
          const result = await this.attempt(target, params, messages, sessionId, started, onDelta, notice, signal, held.maxOutputTokens);
          held.reservation?.release();
          return { ...result, ...(warnings.length ? { warnings } : {}) };
        } catch (failure) {
          // The attempt's real cost is in the ledger by now; the budget stops holding its worst case.
          held.reservation?.release();
          if (!(failure instanceof AttemptFailure)) throw toResponseError(failure, target, signal.aborted, 0);
          const { failure: cause, received } = failure;
          chargedSoFar += failure.costUsd;
          const cancelled = signal.aborted || (cause instanceof ProviderError && cause.kind === 'cancelled');
          if (cancelled || received > 0) throw toResponseError(cause, target, cancelled, received);
          // The list said the host had the model and the host says it has not: forget the list.
          if (cause instanceof ProviderError && cause.kind === 'not_found') await this.deps.registry.invalidateModels(target.host.name);
          if (next && movesToNextHost(cause)) {
            notice({ kind: 'failover', message: `${target.ref} failed before answering (${(cause as Error).message}); trying ${next.ref}`, host: target.host.name, next: next.ref });
            break;
          }
          if (!retryable(cause)) throw toResponseError(cause, target, false, 0);
          const wait = this.retryWait(cause, retry);
          if (wait === undefined) throw toResponseError(cause, target, false, 0);
          notice({ kind: 'retry', message: `${target.ref}: ${cause.message}; retrying in ${(wait / 1000).toFixed(1)} s`, host: target.host.name, waitMs: wait });
          try {
            await this.sleep(wait, signal);
          } catch {
            throw new ResponseError(ErrorCodes.Cancelled, 'request cancelled', { host: target.host.name });
          }
        }
      }
    }
    // Unreachable: the last candidate either returns or throws.
    throw new ResponseError(ErrorCodes.Internal, 'no host was tried', {});
  }

  /**
   * Before a request is sent: when a hard budget covers it or the caller capped its cost, bound
   * its output, work out its worst case, and hold that against the budgets (refusing when it does
   * not fit). Nothing to hold otherwise.
   */
  private async hold(target: ResolvedModel, params: AskParams, promptBytes: number, sessionId: string, chargedSoFar = 0): Promise<{ reservation?: Reservation; maxOutputTokens?: number } | { refused: ResponseError<unknown> }> {
    const budgets = this.deps.budgets;
    const spend: SpendTarget = { provider: target.host.provider, host: target.host.name, model: target.model, sessionId, ...(params.project ? { project: params.project } : {}) };
    const hard = budgets?.hardFor(spend) ?? [];
    if (hard.length === 0 && params.maxCostUsd === undefined) return {};
    const maxOutputTokens = GUARDED_MAX_OUTPUT_TOKENS;
    const worst = this.worstCase(
      { provider: target.host.provider, host: target.host.name, model: target.model, price: target.price, ...(target.listed ? { listed: target.listed } : {}) },
      promptBytes,
      maxOutputTokens,
    );
    const what = hard.length ? `budget '${(hard[0]).name}'` : '--max-cost';
    if (worst === null) {
      return this.refuse(`${target.ref} has no known price, so ${what} cannot bound what it would cost; give it a price under "prices" in the config, or pick a priced or local model`, spend, params, promptBytes, { ref: target.ref });
    }
    if (params.maxCostUsd !== undefined && chargedSoFar + worst > params.maxCostUsd) {
      const spentNote = chargedSoFar > 0 ? ` after ${usd(chargedSoFar)} already charged for failed attempts` : '';
      return this.refuse(`this request to ${target.ref} could cost up to ${usd(worst)}${spentNote}, more than --max-cost ${usd(params.maxCostUsd)}`, spend, params, promptBytes, { ref: target.ref, worstUsd: worst });
    }
    if (!budgets) return { maxOutputTokens };
    const outcome = budgets.reserve(spend, worst);
    if (!outcome.ok) {
      const b = outcome.budget;
      const scope = b.scope ? ` on ${b.scope.kind}=${b.scope.value}` : '';
      return this.refuse(
        `refused by budget '${b.name}' (${usd(b.limitUsd)} a ${b.period}${scope}, hard): ${usd(b.spentUsd)} spent${b.reservedUsd ? ` and ${usd(b.reservedUsd)} held for requests in flight` : ''}, ${usd(b.leftUsd)} left; this request to ${target.ref} could cost up to ${usd(worst)}`,
        spend,
        params,
        promptBytes,
        { budget: b.name, leftUsd: b.leftUsd, worstUsd: worst, ref: target.ref },
      );
    }
    return { reservation: outcome.reservation, maxOutputTokens };
  }

  private worstCase(target: PriceTarget & { price: ModelInfo['price'] }, promptBytes: number, maxOutputTokens: number): number | null {
    if (this.deps.prices) return this.deps.prices.worstCase(target, promptBytes, maxOutputTokens);
    return target.price === 'free' ? 0 : null;
  }

  /** A refusal naming what to do: the models that would fit, local (free) ones first. */
  private async refuse(message: string, spend: SpendTarget, params: AskParams, promptBytes: number, data: Record<string, unknown>): Promise<{ refused: ResponseError<unknown> }> {
    const fits: { ref: string; worst: number }[] = [];
    try {
      const { models } = await this.deps.registry.listModels();
      for (const m of chatModels(models)) {
        // An OpenRouter price in the listing is the listing's own rate.
        const listed = m.provider === 'openrouter' && typeof m.price === 'object' ? { listed: m.price } : {};
        const worst = this.worstCase({ provider: m.provider, host: m.host, model: m.model, price: m.price, ...listed }, promptBytes, GUARDED_MAX_OUTPUT_TOKENS);
        if (worst === null || m.ref === data.ref) continue;
        if (params.maxCostUsd !== undefined && worst > params.maxCostUsd) continue;
        if (this.deps.budgets?.refusal({ ...spend, provider: m.provider, host: m.host, model: m.model }, worst)) continue;
        fits.push({ ref: m.ref, worst });
      }
    } catch (error) {
      this.deps.logger.debug('could not list models for a refusal', { error });
    }
    fits.sort((a, b) => a.worst - b.worst || a.ref.localeCompare(b.ref));
    const suggestions = fits.slice(0, 4);
    const hint = suggestions.length
      ? `; models that fit: ${suggestions.map((f) => `${f.ref} (${f.worst === 0 ? 'free' : `up to ${usd(f.worst)}`})`).join(', ')}`
      : '; no known model fits';
    return { refused: new ResponseError(ErrorCodes.BudgetRefused, message + hint, { ...data, suggestions: suggestions.map((f) => f.ref) }) };
  }

  /** The first model a refusal named as fitting, resolved; none when it named none. */
  private async downgrade(refused: ResponseError<unknown>, signal: AbortSignal): Promise<ResolvedModel | undefined> {
    const ref = (refused.data as { suggestions?: string[] } | undefined)?.suggestions?.[0];
    if (!ref) return undefined;
    try {
      return (await this.deps.registry.route(ref, undefined, signal))[0];
    } catch {
      return undefined;
    }
  }

  /** How long to wait before retry number `retry + 1`, or undefined when not worth it. */
  private retryWait(error: ProviderError, retry: number): number | undefined {
    if (retry >= MAX_RETRIES) return undefined;
    const limit = this.limits().maxRetryWaitMs;
    // The server's own delay when it gave one; else a short exponential backoff.
    const wait = error.retryAfterMs ?? 500 * 2 ** retry;
    return wait <= limit ? wait : undefined;
  }

  private limits(): AskLimits {
    return this.deps.limits?.() ?? DEFAULT_LIMITS;
  }

  /** One call to one host, recorded in the ledger whatever its outcome. */
  private async attempt(
    target: ResolvedModel,
    params: AskParams,
    messages: ChatMessage[],
    sessionId: string,
    started: number,
    onDelta: (text: string) => void,
    notice: (n: Notice) => void,
    signal: AbortSignal,
    maxOutputTokens?: number,
  ): Promise<AskResult> {
    const attemptStarted = this.now();
    let ttftMs: number | null = null;
    let received = 0;
    let usage: Usage = zeroUsage();
    let finishReason = 'stop';
    let providerCostUsd: number | undefined;
    let tokensPerSecond: number | undefined;
    const limits = this.limits();
    const watchdog = new IdleWatchdog(target.host.name, limits.idleTimeoutMs, Math.max(limits.idleTimeoutMs, limits.firstTokenTimeoutMs));
    try {
      const events = target.adapter.streamChat(
        { model: target.model, messages, ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}) },
        AbortSignal.any([signal, watchdog.signal]),
      );
      for await (const event of events) {
        watchdog.heard(event.type === 'delta');
        if (event.type === 'delta') {
          if (ttftMs === null) ttftMs = this.now() - started;
          received += event.text.length;
          onDelta(event.text);
        } else if (event.type === 'warning') {
          notice({ kind: 'warning', message: event.message, host: target.host.name });
        } else if (event.type === 'done') {
          usage = event.usage;
          finishReason = event.finishReason;
          providerCostUsd = event.providerCostUsd;
          tokensPerSecond = event.tokensPerSecond;
        }
      }
      if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
      if (watchdog.timedOut) throw watchdog.timedOut;
    } catch (caught) {
      // The watchdog aborts the adapter, which then reports a cancellation: say why instead.
      const error = watchdog.timedOut && !signal.aborted ? watchdog.timedOut : caught;
      const cancelled = signal.aborted || (error instanceof ProviderError && error.kind === 'cancelled');
      // A call cut after text streamed was billed for it, though the provider never sent its
      // counts: charge an estimate from what was sent and received (flagged), never $0.
      const billed = this.usageOrEstimate(usage, params.prompt, received);
      const charged = this.priced(target, billed.usage);
      await this.record(target, sessionId, params, {
        outcome: cancelled ? 'cancelled' : 'error',
        error: (error as Error).message,
        usage: billed.usage,
        ...(billed.estimated ? { usageEstimated: true } : {}),
        ...charged,
        latencyMs: this.now() - attemptStarted,
        ttftMs,
      }).catch((recordError: unknown) => this.deps.logger.error('could not record a failed request', { error: recordError }));
      throw new AttemptFailure(error, received, charged.costUsd ?? 0);
    } finally {
      watchdog.stop();
    }
    const latencyMs = this.now() - started;
    // A host that reported no usage (no usage chunk) still billed the call.
    const billed = this.usageOrEstimate(usage, params.prompt, received);
    usage = billed.usage;
    const priced = this.priced(target, usage, providerCostUsd);
    const costUsd = priced.costUsd;
    if (tokensPerSecond === undefined && ttftMs !== null && usage.outputTokens > 1) {
      const generatingMs = latencyMs - ttftMs;
      if (generatingMs > 0) tokensPerSecond = ((usage.outputTokens + usage.reasoningTokens - 1) * 1000) / generatingMs;
    }
    // The answer already reached the user: a ledger that cannot be written (disk full) is logged
    // loudly but does not turn a delivered answer into an error.
    await this.record(target, sessionId, params, { outcome: 'ok', usage, ...(billed.estimated ? { usageEstimated: true } : {}), ...priced, latencyMs: this.now() - attemptStarted, ttftMs }).catch((error: unknown) =>
      this.deps.logger.error('could not record a completed request', { error, host: target.host.name, model: target.model }),
    );
    return {
      ref: target.ref,
      sessionId,
      usage,
      costUsd,
      latencyMs,
      ttftMs,
      finishReason,
      ...(tokensPerSecond !== undefined ? { tokensPerSecond: Math.round(tokensPerSecond * 10) / 10 } : {}),
    };
  }

  /**
   * The usage to bill: the provider's counts, or, when it sent none although text came back, an
   * estimate (about four characters a token, as the tokenizers of these models average).
   */
  private usageOrEstimate(usage: Usage, prompt: string, receivedChars: number): { usage: Usage; estimated: boolean } {
    const reported = usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens + usage.reasoningTokens > 0;
    if (reported || receivedChars === 0) return { usage, estimated: false };
    return { usage: { ...zeroUsage(), inputTokens: Math.ceil(prompt.length / 4) + 4, outputTokens: Math.ceil(receivedChars / 4) }, estimated: true };
  }

  /** The call's cost: the provider's own figure, else the price book's, else unknown (null). */
  private priced(target: ResolvedModel, usage: Usage, providerCostUsd?: number): PricedCall {
    const prices = this.deps.prices;
    if (prices) return prices.cost({ provider: target.host.provider, host: target.host.name, model: target.model, ...(target.listed ? { listed: target.listed } : {}) }, usage, providerCostUsd);
    if (target.price === 'free') return { costUsd: 0 };
    return providerCostUsd !== undefined ? { costUsd: providerCostUsd, providerCostUsd } : { costUsd: null };
  }

  private async record(
    resolved: ResolvedModel,
    sessionId: string,
    params: AskParams,
    outcome: { outcome: 'ok' | 'error' | 'cancelled'; error?: string; usage: Usage; usageEstimated?: boolean; latencyMs: number; ttftMs: number | null } & PricedCall,
  ): Promise<void> {
    const { usage } = outcome;
    // One line per provider call, whatever happened: what a user reads in aid.log when a host misbehaves.
    const line = {
      ref: resolved.ref,
      host: resolved.host.name,
      outcome: outcome.outcome,
      latencyMs: outcome.latencyMs,
      ttftMs: outcome.ttftMs,
      tokensIn: usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
      tokensOut: usage.outputTokens + usage.reasoningTokens,
      costUsd: outcome.costUsd,
      ...(outcome.usageEstimated ? { estimated: true } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    if (outcome.outcome === 'error') this.deps.logger.warn('request failed', line);
    else this.deps.logger.info('request', line);
    await this.deps.ledger.record({
      host: resolved.host.name,
      provider: resolved.host.provider,
      model: resolved.model,
      sessionId,
      ...(params.project ? { project: params.project } : {}),
      ...(this.deps.classify ? { taskClass: this.deps.classify(params.prompt) } : {}),
      ...outcome,
    });
    this.deps.onSpend?.();
  }
}

function toResponseError(error: unknown, resolved: ResolvedModel, cancelled: boolean, received: number): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  const host = resolved.host.name;
  if (cancelled) return new ResponseError(ErrorCodes.Cancelled, 'request cancelled', { host });
  if (error instanceof ProviderError) {
    const after = received > 0 ? ` (after ${received} characters of the answer were received)` : '';
    if (error.kind === 'unreachable') return new ResponseError(ErrorCodes.NoUsableHost, error.message + after, { host });
    if (error.kind === 'not_found') return new ResponseError(ErrorCodes.UnknownModel, error.message, { ref: resolved.ref, suggestions: [] });
    return new ResponseError(ErrorCodes.ProviderError, error.message + after, {
      host,
      provider: resolved.host.provider,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    });
  }
  return new ResponseError(ErrorCodes.Internal, `unexpected failure: ${(error as Error).message}`, { host });
}

import type { AskNoticeParams, AskParams, AskResult, FinishReason, Usage } from '../../protocol/chat';
import { ErrorCodes } from '../../protocol/errors';
import type { SpendGuard } from '../budget/spend-guard';
import { priceTargetOf, type ModelCatalog, type ResolvedModel } from '../catalog/model-catalog';
import type { Router } from '../catalog/router';
import { AidError, cancelled } from '../errors/aid-error';
import type { Ledger, PendingCall } from '../ledger/ledger';
import type { Logger } from '../log/logger';
import { CallCost } from '../pricing/call-cost';
import type { PricedCall } from '../pricing/price-book';
import { ProviderError, type ChatMessage } from '../providers/types';
import { IdleWatchdog } from './idle-watchdog';
import { overflow } from './prompt-fit';

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

export type Notice = Omit<AskNoticeParams, 'streamToken'>;

/** Retries of one host before giving up on it (when no other host can take the request). */
const MAX_RETRIES = 2;

/** One request's calls: the hosts to try, what to send, and where its text and news go. */
export interface AttemptPlan {
  params: AskParams;
  messages: ChatMessage[];
  sessionId: string;
  /** The session turn the calls answer (its saved partial answer tells a crash what was received). */
  turn: number;
  candidates: ResolvedModel[];
  started: number;
  signal: AbortSignal;
  onDelta: (text: string) => void;
  onNotice: (notice: Notice) => void;
  /** Called once, just before the first call is sent: nothing is written for a request never sent. */
  beforeSend: () => Promise<void>;
  /** Called when a host takes the question (its response began), with the model asked. */
  onAccepted?: (ref: string) => void;
  /** Told what each call was charged (failed ones too): the turn's cost is their sum. */
  onCharged: (priced: PricedCall) => void;
  /** Who asks, for the ledger's `source`: `aid` (the default) or `gateway:<client>`. */
  source?: string;
}

export interface AttemptDeps {
  router: Router;
  catalog: ModelCatalog;
  ledger: Ledger;
  logger: Logger;
  cost: CallCost;
  guard: SpendGuard;
  limits: () => AskLimits;
  now: () => number;
  /** Waits, abortably; injected so tests need not sleep through retry-after. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** What kind of task a prompt is (recorded with each call, for `aic cost --savings`). */
  classify: (prompt: string) => string;
  /** What a hard-budget refusal does: refuse, or downgrade to the cheapest model that fits. */
  onBudgetRefusal: () => 'refuse' | 'downgrade';
  /** Told after each call is recorded (budget alerts check then). */
  onSpend: () => void;
}

/** A failed call, with how far it got: after text has streamed there is no silent retry. */
class CallFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly received: number,
    /** What the failed call was charged (usually nothing: it failed before the provider took it). */
    readonly costUsd: number,
  ) {
    super((failure as Error).message);
  }
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
 * The calls of one request: each host in turn until one answers. Before any text has arrived, a
 * host that is down, overloaded or rate limiting hands the request to the next host serving the
 * model (the client is told), or on the last host a bounded retry-after is waited out; after text
 * has arrived, the error is reported with what was received, never hidden. Every call is written
 * to the ledger before it is sent and settled when it ends, whatever happens.
 */
export class HostAttempts {
  constructor(private readonly deps: AttemptDeps) {}

  async run(plan: AttemptPlan): Promise<AskResult> {
    const { signal } = plan;
    const candidates = [...plan.candidates];
    const first = candidates[0];
    // Cancelled while the model was being resolved: nothing was called, nothing to record.
    if (signal.aborted) throw cancelled({ host: first?.host.name ?? '' });
    const warnings: string[] = [];
    const notice = (n: Notice): void => {
      if (n.kind !== 'retry') warnings.push(n.message);
      plan.onNotice(n);
    };
    let downgraded = false;
    // What failed calls of this request were charged: --max-cost covers them all.
    let chargedSoFar = 0;
    for (let index = 0; index < candidates.length; index++) {
      const target = candidates[index];
      const next = candidates[index + 1];
      const over = overflow(
        { provider: target.host.provider, model: target.model, ...(target.contextWindow ? { contextWindow: target.contextWindow } : {}) },
        plan.messages,
      );
      if (over) {
        const why = `the prompt is ${over.exact ? '' : 'about '}${over.tokens} tokens, more than the ${over.window}-token window of ${target.ref}`;
        if (next) {
          notice({ kind: 'failover', message: `${why}; trying ${next.ref}`, host: target.host.name, next: next.ref });
          continue;
        }
        throw await this.tooLarge(target, over.tokens, over.window, why, signal);
      }
      for (let retry = 0; ; retry++) {
        const held = await this.deps.guard.hold({
          ref: target.ref,
          target: priceTargetOf(target),
          spend: {
            provider: target.host.provider,
            host: target.host.name,
            model: target.model,
            sessionId: plan.sessionId,
            ...(plan.params.project ? { project: plan.params.project } : {}),
          },
          messages: plan.messages,
          ...(plan.params.maxCostUsd !== undefined ? { maxCostUsd: plan.params.maxCostUsd } : {}),
          chargedSoFar,
          ...(plan.params.maxOutputTokens !== undefined ? { outputCap: plan.params.maxOutputTokens } : {}),
        });
        if (!held.ok) {
          const { refusal } = held;
          if (next) {
            notice({
              kind: 'failover',
              message: `${target.ref}: ${refusal.reason}${refusal.hint}; trying ${next.ref}`,
              host: target.host.name,
              next: next.ref,
            });
            break;
          }
          // Configured to downgrade: the cheapest model that fits (local first) takes the request, once.
          const fallback =
            downgraded || this.deps.onBudgetRefusal() !== 'downgrade' ? undefined : await this.resolveQuietly(refusal.data.suggestions[0], signal);
          if (!fallback) throw new AidError(ErrorCodes.BudgetRefused, refusal.reason + refusal.hint, refusal.data);
          downgraded = true;
          candidates.push(fallback);
          notice({ kind: 'failover', message: `${refusal.reason}; downgrading to ${fallback.ref}`, host: target.host.name, next: fallback.ref });
          break;
        }
        try {
          await plan.beforeSend();
          // The guard's cap and the caller's own, whichever is lower.
          const cap = held.maxOutputTokens ?? plan.params.maxOutputTokens;
          const result = await this.call(target, plan, cap === undefined ? undefined : Math.min(cap, plan.params.maxOutputTokens ?? cap));
          return { ...result, ...(warnings.length ? { warnings } : {}) };
        } catch (failure) {
          if (!(failure instanceof CallFailure)) throw toAidError(failure, target, signal.aborted, 0);
          const { failure: cause, received } = failure;
          chargedSoFar += failure.costUsd;
          const wasCancelled = signal.aborted || (cause instanceof ProviderError && cause.kind === 'cancelled');
          if (wasCancelled || received > 0) throw toAidError(cause, target, wasCancelled, received);
          // The list said the host had the model and the host says it has not: forget the list.
          if (cause instanceof ProviderError && cause.kind === 'not_found') await this.deps.catalog.invalidateModels(target.host.name);
          if (next && movesToNextHost(cause)) {
            notice({
              kind: 'failover',
              message: `${target.ref} failed before answering (${(cause as Error).message}); trying ${next.ref}`,
              host: target.host.name,
              next: next.ref,
            });
            break;
          }
          if (!retryable(cause)) throw toAidError(cause, target, false, 0);
          const wait = this.retryWait(cause, retry);
          if (wait === undefined) throw toAidError(cause, target, false, 0);
          notice({
            kind: 'retry',
            message: `${target.ref}: ${cause.message}; retrying in ${(wait / 1000).toFixed(1)} s`,
            host: target.host.name,
            waitMs: wait,
          });
          try {
            await this.deps.sleep(wait, signal);
          } catch {
            throw cancelled({ host: target.host.name });
          }
        } finally {
          // The call's real cost is in the ledger by now; the budget stops holding its worst case.
          held.reservation?.release();
        }
      }
    }
    // Every candidate was skipped for its window or handed on; the last one throws above.
    throw new AidError(ErrorCodes.Internal, 'no host was tried', {});
  }

  /** A prompt no candidate's window holds: refused before sending, naming models whose window does. */
  private async tooLarge(
    target: ResolvedModel,
    tokens: number,
    window: number,
    why: string,
    signal: AbortSignal,
  ): Promise<AidError<typeof ErrorCodes.ContextTooLarge>> {
    let suggestions: string[] = [];
    try {
      const fits = (await this.deps.catalog.chatCandidates(signal)).filter(
        (m) => m.contextWindow !== undefined && m.contextWindow >= tokens && m.ref !== target.ref,
      );
      const rank = (m: ResolvedModel): number => (m.price === 'free' ? 0 : m.price === 'unpriced' ? Number.POSITIVE_INFINITY : m.price.inputPerMTok);
      suggestions = fits
        .sort((a, b) => rank(a) - rank(b) || a.ref.localeCompare(b.ref))
        .slice(0, 4)
        .map((m) => m.ref);
    } catch (error) {
      this.deps.logger.debug('could not list models for a refusal', { error });
    }
    const hint = suggestions.length
      ? `; models whose window holds it: ${suggestions.join(', ')}`
      : '; no known model has a window that large: shorten the question, start a new session (--new) or attach less context (--no-context)';
    return new AidError(ErrorCodes.ContextTooLarge, `${why}; nothing was sent${hint}`, {
      ref: target.ref,
      promptTokens: tokens,
      contextWindow: window,
      suggestions,
    });
  }

  /** The first model a refusal named as fitting, resolved; none when it named none. */
  private async resolveQuietly(ref: string | undefined, signal: AbortSignal): Promise<ResolvedModel | undefined> {
    if (!ref) return undefined;
    try {
      return (await this.deps.router.route(ref, undefined, signal))[0];
    } catch {
      return undefined;
    }
  }

  /** How long to wait before retry number `retry + 1`, or undefined when not worth it. */
  private retryWait(error: ProviderError, retry: number): number | undefined {
    if (retry >= MAX_RETRIES) return undefined;
    const limit = this.deps.limits().maxRetryWaitMs;
    // The server's own delay when it gave one; else a short exponential backoff.
    const wait = error.retryAfterMs ?? 500 * 2 ** retry;
    return wait <= limit ? wait : undefined;
  }

  /** One call to one host: durable before it is sent, settled whatever its outcome. */
  private async call(target: ResolvedModel, plan: AttemptPlan, maxOutputTokens?: number): Promise<AskResult> {
    const { now, cost } = this.deps;
    const priceTarget = priceTargetOf(target);
    const sent = cost.sent(plan.messages);
    const pending = await this.openCall(target, plan, sent);
    const callStarted = now();
    let ttftMs: number | null = null;
    let received = '';
    let reached = false;
    let early: Usage | undefined;
    let final: Usage | undefined;
    let finish: { finishReason: FinishReason; providerFinishReason?: string } = { finishReason: 'stop' };
    let providerCostUsd: number | undefined;
    let tokensPerSecond: number | undefined;
    // The provider's ids, kept on the row so importing the same tool's logs never counts the call twice.
    const upstream: { messageId?: string; requestId?: string } = {};
    const limits = this.deps.limits();
    const watchdog = new IdleWatchdog(target.host.name, limits.idleTimeoutMs, Math.max(limits.idleTimeoutMs, limits.firstTokenTimeoutMs));
    try {
      const events = target.adapter.streamChat(
        {
          model: target.model,
          messages: plan.messages,
          ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
          ...(plan.params.temperature !== undefined ? { temperature: plan.params.temperature } : {}),
        },
        AbortSignal.any([plan.signal, watchdog.signal]),
      );
      for await (const event of events) {
        watchdog.heard(event.type === 'delta');
        if (!reached && (event.type === 'accepted' || event.type === 'delta')) plan.onAccepted?.(target.ref);
        if (event.type === 'accepted') {
          reached = true;
          if (event.requestId) upstream.requestId = event.requestId;
        } else if (event.type === 'usage') {
          early = event.usage;
          if (event.messageId) upstream.messageId = event.messageId;
        } else if (event.type === 'delta') {
          if (ttftMs === null) ttftMs = now() - plan.started;
          reached = true;
          received += event.text;
          plan.onDelta(event.text);
        } else if (event.type === 'warning') {
          plan.onNotice({ kind: 'warning', message: event.message, host: target.host.name });
        } else if (event.type === 'done') {
          final = event.usage;
          finish = { finishReason: event.finishReason, ...(event.providerFinishReason ? { providerFinishReason: event.providerFinishReason } : {}) };
          providerCostUsd = event.providerCostUsd;
          tokensPerSecond = event.tokensPerSecond;
          if (event.messageId) upstream.messageId = event.messageId;
        }
      }
      if (plan.signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
      if (watchdog.timedOut) throw watchdog.timedOut;
    } catch (caught) {
      // The watchdog aborts the adapter, which then reports a cancellation: say why instead.
      const error = watchdog.timedOut && !plan.signal.aborted ? watchdog.timedOut : caught;
      const wasCancelled = plan.signal.aborted || (error instanceof ProviderError && error.kind === 'cancelled');
      // A call the provider took was billed for what it was sent, though it never sent its counts:
      // charge an estimate (flagged), never $0; one it never took costs nothing.
      const billed = cost.bill({ sent, reached, receivedText: received, ...(early ? { early } : {}) });
      const charged = cost.chargeFor(priceTarget, billed.usage);
      plan.onCharged(charged);
      await this.settle(pending, target, {
        outcome: wasCancelled ? 'cancelled' : 'error',
        error: (error as Error).message,
        usage: billed.usage,
        ...(billed.estimated ? { usageEstimated: true } : {}),
        ...charged,
        latencyMs: now() - callStarted,
        ttftMs,
        ...(upstream.messageId || upstream.requestId ? { upstream } : {}),
      });
      throw new CallFailure(error, received.length, charged.costUsd ?? 0);
    } finally {
      watchdog.stop();
    }
    const latencyMs = now() - plan.started;
    // A host that reported no usage (no usage chunk) still billed the call.
    const billed = cost.bill({ sent, reached: true, receivedText: received, ...(final ? { final } : {}), ...(early ? { early } : {}) });
    const priced = cost.price(priceTarget, billed.usage, providerCostUsd);
    plan.onCharged(priced);
    if (tokensPerSecond === undefined && ttftMs !== null && billed.usage.outputTokens > 1) {
      const generatingMs = latencyMs - ttftMs;
      if (generatingMs > 0) tokensPerSecond = ((billed.usage.outputTokens + billed.usage.reasoningTokens - 1) * 1000) / generatingMs;
    }
    await this.settle(pending, target, {
      outcome: 'ok',
      usage: billed.usage,
      ...(billed.estimated ? { usageEstimated: true } : {}),
      ...priced,
      latencyMs: now() - callStarted,
      ttftMs,
      ...(upstream.messageId || upstream.requestId ? { upstream } : {}),
    });
    return {
      ref: target.ref,
      sessionId: plan.sessionId,
      usage: billed.usage,
      costUsd: priced.costUsd,
      latencyMs,
      ttftMs,
      ...finish,
      ...(tokensPerSecond !== undefined ? { tokensPerSecond: Math.round(tokensPerSecond * 10) / 10 } : {}),
    };
  }

  /**
   * The call, written down before it goes out. A ledger that cannot be written (disk full) stops
   * the call: spend that could not be recorded could not be held against a budget either.
   */
  private async openCall(target: ResolvedModel, plan: AttemptPlan, sent: Usage): Promise<PendingCall> {
    try {
      return await this.deps.ledger.open({
        host: target.host.name,
        provider: target.host.provider,
        model: target.model,
        sessionId: plan.sessionId,
        turn: plan.turn,
        ...(plan.params.project ? { project: plan.params.project } : {}),
        taskClass: this.deps.classify(plan.params.prompt),
        ...(target.listed ? { listed: target.listed } : {}),
        source: plan.source ?? 'aid',
        sent,
      });
    } catch (error) {
      this.deps.logger.error('could not write the ledger before a call; nothing was sent', { error, host: target.host.name });
      throw new AidError(
        ErrorCodes.Internal,
        `aid could not record the call before ` +
          `sending it (${(error as Error).message}); nothing was sent — free space on the disk holding aid's data directory, then retry`,
        { host: target.host.name },
      );
    }
  }

  /**
   * The call's row, over its pending entry; logged as a line of aid.log. The answer may already
   * have reached the user: a ledger that cannot be written (disk full) is logged loudly, and the
   * pending entry stays for the next start to settle, but a delivered answer is not turned into an
   * error.
   */
  private async settle(
    pending: PendingCall,
    target: ResolvedModel,
    outcome: {
      outcome: 'ok' | 'error' | 'cancelled';
      error?: string;
      usage: Usage;
      usageEstimated?: boolean;
      latencyMs: number;
      ttftMs: number | null;
      upstream?: { messageId?: string; requestId?: string };
    } & PricedCall,
  ): Promise<void> {
    const { usage } = outcome;
    // One line per provider call, whatever happened: what a user reads in aid.log when a host misbehaves.
    const line = {
      ref: target.ref,
      host: target.host.name,
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
    try {
      await this.deps.ledger.settle(pending, outcome);
    } catch (error) {
      this.deps.logger.error('could not record a provider call; it stays pending and is settled at the next start', {
        error,
        host: target.host.name,
        model: target.model,
      });
    }
    this.deps.onSpend();
  }
}

/** What a provider failure means to the user, as aid's typed error. */
export function toAidError(error: unknown, resolved: ResolvedModel, wasCancelled: boolean, received: number): AidError {
  if (error instanceof AidError) return error as AidError;
  const host = resolved.host.name;
  if (wasCancelled) return cancelled({ host });
  if (error instanceof ProviderError) {
    const after = received > 0 ? ` (after ${received} characters of the answer were received)` : '';
    if (error.kind === 'unreachable') return new AidError(ErrorCodes.NoUsableHost, error.message + after, { host });
    if (error.kind === 'not_found') return new AidError(ErrorCodes.UnknownModel, error.message, { ref: resolved.ref, suggestions: [] });
    return new AidError(ErrorCodes.ProviderError, error.message + after, {
      host,
      provider: resolved.host.provider,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    });
  }
  return new AidError(ErrorCodes.Internal, `unexpected failure: ${(error as Error).message}`, { host });
}

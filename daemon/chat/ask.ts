import { randomUUID } from 'node:crypto';
import { ResponseError } from 'vscode-jsonrpc';
import type { AskParams, AskResult, Usage } from '../../protocol/chat';
import { ErrorCodes } from '../../protocol/errors';
import type { HostRegistry, ResolvedModel } from '../catalog/registry';
import type { Ledger } from '../ledger/ledger';
import type { Logger } from '../log/logger';
import { ProviderError, zeroUsage } from '../providers/types';

export interface AskDeps {
  registry: HostRegistry;
  ledger: Ledger;
  logger: Logger;
  defaultModel: () => string | undefined;
  now?: () => number;
}

/** A request's life: resolve the model, stream the answer, record the call whatever happens. */
export class AskService {
  private readonly now: () => number;

  constructor(private readonly deps: AskDeps) {
    this.now = deps.now ?? Date.now;
  }

  async ask(params: AskParams, onDelta: (text: string) => void, signal: AbortSignal): Promise<AskResult> {
    const started = this.now();
    const resolved = await this.deps.registry.resolve(params.model, this.deps.defaultModel());
    // Cancelled while the model was being resolved: nothing was called, nothing to record.
    if (signal.aborted) throw new ResponseError(ErrorCodes.Cancelled, 'request cancelled', { host: resolved.host.name });
    const sessionId = params.sessionId ?? randomUUID();
    let ttftMs: number | null = null;
    let received = 0;
    let usage: Usage = zeroUsage();
    let finishReason = 'stop';
    try {
      const stream = resolved.adapter.streamChat({ model: resolved.model, messages: [{ role: 'user', content: params.prompt }] }, signal);
      for await (const event of stream) {
        if (event.type === 'delta') {
          if (ttftMs === null) ttftMs = this.now() - started;
          received += event.text.length;
          onDelta(event.text);
        } else {
          usage = event.usage;
          finishReason = event.finishReason;
        }
      }
      throwIfAborted(signal);
    } catch (error) {
      const cancelled = signal.aborted || (error instanceof ProviderError && error.kind === 'cancelled');
      const message = (error as Error).message;
      await this.record(resolved, sessionId, params, {
        outcome: cancelled ? 'cancelled' : 'error',
        error: message,
        usage,
        costUsd: resolved.host.provider === 'ollama' ? 0 : null,
        latencyMs: this.now() - started,
        ttftMs,
      }).catch((recordError: unknown) => this.deps.logger.error('could not record a failed request', { error: recordError }));
      throw toResponseError(error, resolved, cancelled, received);
    }
    const latencyMs = this.now() - started;
    const costUsd = resolved.host.provider === 'ollama' ? 0 : null;
    // The answer already reached the user: a ledger that cannot be written (disk full) is logged
    // loudly but does not turn a delivered answer into an error.
    await this.record(resolved, sessionId, params, { outcome: 'ok', usage, costUsd, latencyMs, ttftMs }).catch((error: unknown) =>
      this.deps.logger.error('could not record a completed request', { error, host: resolved.host.name, model: resolved.model }),
    );
    return { ref: resolved.ref, sessionId, usage, costUsd, latencyMs, ttftMs, finishReason };
  }

  private async record(
    resolved: ResolvedModel,
    sessionId: string,
    params: AskParams,
    outcome: { outcome: 'ok' | 'error' | 'cancelled'; error?: string; usage: Usage; costUsd: number | null; latencyMs: number; ttftMs: number | null },
  ): Promise<void> {
    await this.deps.ledger.record({
      host: resolved.host.name,
      provider: resolved.host.provider,
      model: resolved.model,
      sessionId,
      ...(params.project ? { project: params.project } : {}),
      ...outcome,
    });
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
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

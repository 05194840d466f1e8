import { Ollama, type AbortableAsyncIterator, type ChatResponse } from 'ollama';
import type { ChatEvent, ChatRequest, DiscoveredModel, HealthReport, LoadedModelInfo, ModelManager, ProviderAdapter, PullProgress } from './types';
import { ProviderError, isAbortError, isConnectionError, zeroUsage } from './types';

/** The command that fetches a model onto an Ollama host, for hints in error messages. */
export function pullCommand(model: string, host: string): string {
  return `aic pull ${model}${host === 'ollama' ? '' : ` --host ${host}`}`;
}

export interface OllamaAdapterOptions {
  baseUrl: string;
  hostName: string;
  keepAlive?: string | number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** Ollama through the official `ollama` library. Free, local, NDJSON streaming. */
export class OllamaAdapter implements ProviderAdapter, ModelManager {
  readonly provider = 'ollama' as const;
  readonly baseUrl: string;

  constructor(private readonly options: OllamaAdapterOptions) {
    this.baseUrl = options.baseUrl;
  }

  /**
   * A client bound to one signal. ollama-js's own abort() cancels every request of an instance,
   * so each call gets its own instance whose fetch follows the caller's signal.
   */
  private client(signal: AbortSignal): Ollama {
    const baseFetch = this.options.fetch ?? fetch;
    const boundFetch: typeof fetch = (input, init) =>
      baseFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new Ollama({ host: this.baseUrl, fetch: boundFetch });
  }

  async health(signal: AbortSignal): Promise<HealthReport> {
    try {
      const { version } = await this.client(signal).version();
      return { version };
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    try {
      const { models } = await this.client(signal).list();
      return models.map((m) => ({
        id: m.name,
        details: {
          size: m.size,
          ...(m.details?.family ? { family: m.details.family } : {}),
          ...(m.details?.parameter_size ? { parameters: m.details.parameter_size } : {}),
          ...(m.details?.quantization_level ? { quantization: m.details.quantization_level } : {}),
        },
      }));
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  /** Streams /api/pull progress; an in-band error (unknown model) ends it with a ProviderError. */
  async pull(model: string, onProgress: (progress: PullProgress) => void, signal: AbortSignal): Promise<void> {
    try {
      const stream = await this.client(signal).pull({ model, stream: true });
      for await (const part of stream) {
        onProgress({
          status: part.status,
          ...(part.digest ? { digest: part.digest } : {}),
          ...(part.total ? { total: part.total } : {}),
          ...(part.completed ? { completed: part.completed } : {}),
        });
      }
    } catch (error) {
      const translated = this.translate(error, signal, model, true);
      if (translated.kind === 'stream' && /file does not exist|not found/i.test(translated.message)) {
        throw new ProviderError('not_found', `Ollama has no model named '${model}' to pull; check the name at https://ollama.com/library`, 404);
      }
      throw translated;
    }
  }

  async remove(model: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client(signal).delete({ model });
    } catch (error) {
      const translated = this.translate(error, signal, model);
      if (translated.kind === 'not_found') throw new ProviderError('not_found', `model '${model}' is not on host ${this.options.hostName} (see \`aic models\`)`, 404);
      throw translated;
    }
  }

  async loaded(signal: AbortSignal): Promise<LoadedModelInfo[]> {
    try {
      const { models } = await this.client(signal).ps();
      return models.map((m) => {
        const contextLength = (m as { context_length?: unknown }).context_length;
        return {
          id: m.name,
          sizeBytes: m.size,
          vramBytes: m.size_vram,
          expiresAt: String(m.expires_at),
          ...(typeof contextLength === 'number' ? { contextLength } : {}),
        };
      });
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const client = this.client(signal);
    let stream: AbortableAsyncIterator<ChatResponse>;
    try {
      stream = await client.chat({
        model: request.model,
        messages: request.messages,
        stream: true,
        ...(this.options.keepAlive !== undefined ? { keep_alive: this.options.keepAlive } : {}),
        ...(request.maxOutputTokens ? { options: { num_predict: request.maxOutputTokens } } : {}),
      });
    } catch (error) {
      throw this.translate(error, signal, request.model);
    }
    const onAbort = (): void => stream.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const part of stream) {
        if (part.message?.content) yield { type: 'delta', text: part.message.content };
        if (part.done) {
          const usage = zeroUsage();
          usage.inputTokens = part.prompt_eval_count ?? 0;
          usage.outputTokens = part.eval_count ?? 0;
          yield { type: 'done', usage, finishReason: part.done_reason || 'stop' };
          return;
        }
      }
    } catch (error) {
      throw this.translate(error, signal, request.model, true);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private translate(error: unknown, signal: AbortSignal, model?: string, midStream = false): ProviderError {
    if (error instanceof ProviderError) return error;
    if (signal.aborted || isAbortError(error)) {
      const reason: unknown = signal.reason;
      if (reason instanceof ProviderError) return reason;
      return new ProviderError('cancelled', 'request cancelled');
    }
    if (isConnectionError(error)) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message;
      return new ProviderError(
        'unreachable',
        `Ollama is not running at ${this.baseUrl}${detail ? ` (${detail})` : ''} — start it with \`ollama serve\` (or set OLLAMA_HOST to where it runs)`,
      );
    }
    const status = (error as { status_code?: unknown }).status_code;
    const message = error instanceof Error ? error.message : String(error);
    if (typeof status === 'number') {
      if (status === 404 && model) {
        return new ProviderError(
          'not_found',
          `model '${model}' is not pulled on host ${this.options.hostName} — run \`${pullCommand(model, this.options.hostName)}\``,
          404,
        );
      }
      const kind = status === 429 ? 'rate_limited' : status >= 500 ? 'server' : status === 401 || status === 403 ? 'auth' : 'bad_request';
      return new ProviderError(kind, `Ollama at ${this.baseUrl} answered ${status}: ${message}`, status);
    }
    return new ProviderError(midStream ? 'stream' : 'server', `Ollama at ${this.baseUrl} failed: ${message}`);
  }
}

import type { ModelKind } from '../../protocol/models';
import { conservativeTokens, messagesTokens } from '../tokens/count';
import { Ollama, type AbortableAsyncIterator, type ChatResponse } from 'ollama';
import type { ChatEvent, ChatRequest, DiscoveredModel, HealthReport, LoadedModelInfo, ModelManager, ProviderAdapter, PullProgress } from './types';
import { ProviderError, isAbortError, isConnectionError, zeroUsage } from './types';
import { normaliseFinish } from './finish-reason';

/** The command that fetches a model onto an Ollama host, for hints in error messages. */
export function pullCommand(model: string, host: string): string {
  return `aic pull ${model}${host === 'ollama' ? '' : ` --host ${host}`}`;
}

export interface OllamaAdapterOptions {
  baseUrl: string;
  hostName: string;
  keepAlive?: string | number;
  /** A fixed context window for every request; otherwise sized to each prompt. */
  numCtx?: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** A Basic `Authorization` header, for an Ollama behind a proxy (`http://user:pass@box:11434`). */
  basicAuth?: string;
}

/**
 * Ollama serves embedding models beside chat ones: /api/show's capabilities say which ("embedding"
 * without "completion"); an older Ollama that reports none is judged by the name.
 */
export function ollamaKind(name: string, capabilities: string[] | undefined): ModelKind {
  if (capabilities?.length) return capabilities.includes('embedding') && !capabilities.includes('completion') ? 'embedding' : 'chat';
  return /(^|[-_/])(embed|embedding|bge|e5|minilm)([-_:.]|$)|embed/i.test(name) ? 'embedding' : 'chat';
}

/** Ollama through the official `ollama` library. Free, local, NDJSON streaming. */
export class OllamaAdapter implements ProviderAdapter, ModelManager {
  readonly provider = 'ollama' as const;
  readonly baseUrl: string;

  private readonly shown = new Map<string, { contextLength?: number; capabilities: string[] }>();

  constructor(private readonly options: OllamaAdapterOptions) {
    this.baseUrl = options.baseUrl;
  }

  /**
   * A client bound to one signal. ollama-js's own abort() cancels every request of an instance,
   * so each call gets its own instance whose fetch follows the caller's signal.
   */
  private client(signal: AbortSignal): Ollama {
    const baseFetch = this.options.fetch ?? fetch;
    const boundFetch: typeof fetch = (input, init) => baseFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new Ollama({ host: this.baseUrl, fetch: boundFetch, ...(this.options.basicAuth ? { headers: { Authorization: this.options.basicAuth } } : {}) });
  }

  async health(signal: AbortSignal): Promise<HealthReport> {
    try {
      const { version } = await this.client(signal).version();
      return { version };
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  /** /api/tags, then /api/show per model for its context window and capabilities. */
  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    let tags: Awaited<ReturnType<Ollama['list']>>['models'];
    try {
      tags = (await this.client(signal).list()).models;
    } catch (error) {
      throw this.translate(error, signal);
    }
    return Promise.all(
      tags.map(async (m) => {
        const shown = await this.show(m.name, signal);
        return {
          id: m.name,
          kind: ollamaKind(m.name, shown?.capabilities),
          ...(shown?.contextLength ? { contextWindow: shown.contextLength } : {}),
          details: {
            size: m.size,
            ...(m.details?.family ? { family: m.details.family } : {}),
            ...(m.details?.parameter_size ? { parameters: m.details.parameter_size } : {}),
            ...(m.details?.quantization_level ? { quantization: m.details.quantization_level } : {}),
            ...(shown?.capabilities.length ? { capabilities: shown.capabilities.join(',') } : {}),
          },
        };
      }),
    );
  }

  /**
   * A model's context length (model_info["<arch>.context_length"]) and capabilities from
   * /api/show, remembered per model: they only change when the model is re-pulled. Undefined
   * when the host cannot say; the caller then does without.
   */
  private async show(model: string, signal: AbortSignal): Promise<{ contextLength?: number; capabilities: string[] } | undefined> {
    const known = this.shown.get(model);
    if (known) return known;
    try {
      const info = await this.client(signal).show({ model });
      const modelInfo = (info.model_info ?? {}) as unknown as Record<string, unknown>;
      const arch = modelInfo['general.architecture'];
      const length = typeof arch === 'string' ? modelInfo[`${arch}.context_length`] : undefined;
      const capabilities = (info as { capabilities?: unknown }).capabilities;
      const result = {
        ...(typeof length === 'number' && length > 0 ? { contextLength: length } : {}),
        capabilities: Array.isArray(capabilities) ? capabilities.filter((c): c is string => typeof c === 'string') : [],
      };
      this.shown.set(model, result);
      return result;
    } catch {
      return undefined;
    }
  }

  /** Streams /api/pull progress; an in-band error (unknown model) ends it with a ProviderError. */
  async pull(model: string, onProgress: (progress: PullProgress) => void, signal: AbortSignal): Promise<void> {
    this.forget(model);
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
    this.forget(model);
    try {
      await this.client(signal).delete({ model });
    } catch (error) {
      const translated = this.translate(error, signal, model);
      if (translated.kind === 'not_found')
        throw new ProviderError('not_found', `model '${model}' is not on host ${this.options.hostName} (see \`aic models\`)`, 404);
      throw translated;
    }
  }

  private forget(model: string): void {
    const withTag = model.includes(':') ? model : `${model}:latest`;
    this.shown.delete(model);
    this.shown.delete(withTag);
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
    const contextLength = this.options.numCtx === undefined ? (await this.show(request.model, signal))?.contextLength : undefined;
    const numCtx = this.options.numCtx ?? chooseNumCtx(estimateTokens(request), request.maxOutputTokens, contextLength);
    let stream: AbortableAsyncIterator<ChatResponse>;
    try {
      stream = await client.chat({
        model: request.model,
        messages: request.messages,
        // Always streamed: headers then arrive with the first token, so no header timeout can cut a
        // long generation (ollama-js's non-streaming calls die at undici's 300 s).
        stream: true,
        ...(this.options.keepAlive !== undefined ? { keep_alive: this.options.keepAlive } : {}),
        // Without num_ctx Ollama silently cuts long prompts to its small default window.
        options: {
          num_ctx: numCtx,
          ...(request.maxOutputTokens ? { num_predict: request.maxOutputTokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        },
      });
    } catch (error) {
      throw this.translate(error, signal, request.model);
    }
    yield { type: 'accepted' };
    const onAbort = (): void => stream.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const part of stream) {
        // Thinking models stream message.thinking with empty content first: progress, not text.
        if (part.message?.content) yield { type: 'delta', text: part.message.content };
        else if (!part.done) yield { type: 'alive' };
        if (part.done) {
          const usage = zeroUsage();
          usage.inputTokens = part.prompt_eval_count ?? 0;
          usage.outputTokens = part.eval_count ?? 0;
          // Ollama keeps only the last num_ctx tokens of a longer prompt; a count at the window's
          // edge is the only trace of that.
          if (usage.inputTokens >= numCtx * 0.98) {
            yield {
              type: 'warning',
              message:
                `the prompt ` +
                `filled the ${numCtx}-token context ` +
                `window of ${request.model} on host ${this.options.hostName}, so Ollama dropped its beginning; use a model with a ` +
                `larger context${this.options.numCtx !== undefined ? ' or raise ollama.numCtx in the config' : ''}`,
            };
          }
          const seconds = (part.eval_duration ?? 0) / 1e9;
          yield {
            type: 'done',
            usage,
            ...normaliseFinish('ollama', part.done_reason),
            ...(seconds > 0 && usage.outputTokens > 0 ? { tokensPerSecond: usage.outputTokens / seconds } : {}),
          };
          return;
        }
      }
    } catch (error) {
      throw this.translate(error, signal, request.model, true);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw this.translate(new Error('aborted'), signal);
    // Only the final `done` chunk says the answer is whole (and carries the counts).
    throw new ProviderError('stream', `Ollama at ${this.baseUrl} ended the stream before the answer was complete`);
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
    // ollama-js's words for a body that ended without the final chunk.
    if (/did not receive done/i.test(message)) return new ProviderError('stream', `Ollama at ${this.baseUrl} ended the stream before the answer was complete`);
    return new ProviderError(midStream ? 'stream' : 'server', `Ollama at ${this.baseUrl} failed: ${message}`);
  }
}

/** A request's tokens erring high (tokens/count.ts), for sizing num_ctx: a window too small cuts the prompt. */
export function estimateTokens(request: ChatRequest): number {
  return messagesTokens(request.messages, conservativeTokens);
}

/** Ollama's own default window; smaller would only cost reloads for nothing. */
const MIN_NUM_CTX = 4096;

/**
 * A window that holds the prompt and the answer, rounded up to a power of two so that similar
 * requests share one size (each new num_ctx makes Ollama reload the model), and never beyond
 * what the model was trained for.
 */
export function chooseNumCtx(promptTokens: number, maxOutputTokens: number | undefined, contextLength: number | undefined): number {
  const needed = promptTokens + (maxOutputTokens ?? 2048);
  let size = MIN_NUM_CTX;
  while (size < needed) size *= 2;
  return contextLength ? Math.min(size, Math.max(contextLength, 1)) : size;
}

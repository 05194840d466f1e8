import type { ChatEvent, ChatRequest, CloudAdapterOptions, DiscoveredModel, HealthReport, ProviderAdapter } from './types';
import { ProviderError, isAbortError, isConnectionError, zeroUsage } from './types';
import { normaliseFinish } from './finish-reason';
import { causeCode, connectTimeout, httpFailure, inStreamFailure, unreachable, type ErrorContext } from './http-errors';
import { readSse } from './sse';

interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

interface GeminiChunk {
  candidates?: { content?: { parts?: { text?: string; thought?: boolean }[] }; finishReason?: string }[];
  usageMetadata?: GeminiUsage;
  promptFeedback?: { blockReason?: string };
  error?: GoogleError;
}

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; retryDelay?: string; reason?: string }[];
}

interface GeminiModel {
  name: string;
  displayName?: string;
  inputTokenLimit?: number;
  supportedGenerationMethods?: string[];
}

/**
 * Normalised usage from Gemini's usageMetadata: promptTokenCount includes the cached part, and
 * thinking (thoughtsTokenCount) is billed as output but kept out of candidatesTokenCount.
 */
export function usageFromGemini(meta: GeminiUsage): ReturnType<typeof zeroUsage> {
  const usage = zeroUsage();
  const cached = meta.cachedContentTokenCount ?? 0;
  usage.cacheReadTokens = cached;
  usage.inputTokens = Math.max(0, (meta.promptTokenCount ?? 0) + (meta.toolUsePromptTokenCount ?? 0) - cached);
  usage.outputTokens = meta.candidatesTokenCount ?? 0;
  usage.reasoningTokens = meta.thoughtsTokenCount ?? 0;
  return usage;
}

/** "37s" / "1.5s" from RetryInfo, in ms. */
function retryDelayMs(error: GoogleError | undefined): number | undefined {
  const delay = error?.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const seconds = delay ? Number.parseFloat(delay) : Number.NaN;
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
}

/**
 * Gemini through its native REST API with fetch. Chosen over the OpenAI-compatible endpoint because
 * the native usageMetadata reports cached (cachedContentTokenCount) and thinking
 * (thoughtsTokenCount) tokens, which the compatible endpoint may leave out; and over @google/genai
 * because three plain endpoints do not justify its weight, and retries and timeouts stay ours.
 */
export class GeminiAdapter implements ProviderAdapter {
  readonly provider = 'gemini' as const;
  readonly baseUrl: string;
  private readonly context: ErrorContext;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CloudAdapterOptions) {
    this.baseUrl = options.baseUrl;
    this.fetch = options.fetch ?? fetch;
    this.context = {
      label: 'Gemini',
      hostName: options.hostName,
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      ...(options.keyEnv ? { keyEnv: options.keyEnv } : {}),
    };
  }

  /** The API root: the base URL may or may not already name the version. */
  private url(path: string): string {
    const root = /\/v1(beta|alpha)?\d*$/.test(this.baseUrl) ? this.baseUrl : `${this.baseUrl}/v1beta`;
    return `${root}${path}`;
  }

  /**
   * One call, with the connect deadline covering the wait for response headers only: the body of a
   * stream may legitimately take minutes, and is watched for idleness by the caller.
   */
  private async call(path: string, signal: AbortSignal, init: { method?: string; body?: unknown } = {}, model?: string): Promise<Response> {
    const headersDeadline = new AbortController();
    const timer = setTimeout(() => headersDeadline.abort(), this.options.connectTimeoutMs);
    let response: Response;
    try {
      response = await this.fetch(this.url(path), {
        method: init.method ?? 'GET',
        headers: { 'x-goog-api-key': this.options.apiKey, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.any([signal, headersDeadline.signal]),
      });
    } catch (error) {
      if (signal.aborted || (isAbortError(error) && !headersDeadline.signal.aborted)) throw new ProviderError('cancelled', 'request cancelled');
      if (headersDeadline.signal.aborted) throw connectTimeout(this.context, this.options.connectTimeoutMs);
      if (isConnectionError(error)) throw unreachable(this.context, causeCode(error));
      throw new ProviderError('server', `Gemini (host ${this.options.hostName}) failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await this.failure(response, model);
    return response;
  }

  /** Google errors come as `{error:{…}}`, and through some proxies as `[{error:{…}}]`. */
  private async failure(response: Response, model?: string): Promise<ProviderError> {
    const text = await response.text().catch(() => '');
    let error: GoogleError | undefined;
    try {
      const parsed = JSON.parse(text) as { error?: GoogleError } | { error?: GoogleError }[];
      error = Array.isArray(parsed) ? parsed[0]?.error : parsed.error;
    } catch {
      error = undefined;
    }
    const reason = error?.details?.find((d) => d.reason)?.reason;
    return httpFailure(
      {
        status: response.status,
        headers: response.headers,
        message: error?.message ?? (text.slice(0, 200) || response.statusText),
        code: reason ?? error?.status,
        retryAfterMs: retryDelayMs(error),
        model,
      },
      this.context,
    );
  }

  async health(signal: AbortSignal): Promise<HealthReport> {
    const response = await this.call('/models?pageSize=1', signal);
    await response.body?.cancel();
    return {};
  }

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    let pageToken: string | undefined;
    // Bounded: a server that keeps handing out page tokens must not loop us forever.
    for (let page = 0; page < 50; page++) {
      const query = `pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const body = (await (await this.call(`/models?${query}`, signal)).json()) as { models?: GeminiModel[]; nextPageToken?: string };
      for (const model of body.models ?? []) {
        // Embedding and other non-chat models cannot generateContent.
        if (!model.supportedGenerationMethods?.includes('generateContent')) continue;
        models.push({
          id: model.name.replace(/^models\//, ''),
          ...(model.inputTokenLimit ? { contextWindow: model.inputTokenLimit } : {}),
          ...(model.displayName ? { details: { name: model.displayName } } : {}),
        });
      }
      pageToken = body.nextPageToken;
      if (!pageToken) break;
    }
    return models;
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const body = {
      contents: request.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
      ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
      ...(request.maxOutputTokens !== undefined || request.temperature !== undefined
        ? {
            generationConfig: {
              ...(request.maxOutputTokens ? { maxOutputTokens: request.maxOutputTokens } : {}),
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            },
          }
        : {}),
    };
    const model = request.model.replace(/^models\//, '');
    const response = await this.call(`/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`, signal, { method: 'POST', body }, model);
    yield { type: 'accepted' };
    let usage = zeroUsage();
    let finishReason: string | undefined;
    try {
      for await (const event of readSse(response.body ?? emptyBody())) {
        const chunk = JSON.parse(event.data) as GeminiChunk;
        if (chunk.error) {
          const status = chunk.error.code ?? 500;
          throw inStreamFailure(this.context, status, `${chunk.error.status ?? status}: ${chunk.error.message ?? 'error'}`, retryDelayMs(chunk.error));
        }
        if (chunk.promptFeedback?.blockReason) {
          throw new ProviderError('bad_request', `Gemini (host ${this.options.hostName}) blocked the prompt: ${chunk.promptFeedback.blockReason}`);
        }
        const candidate = chunk.candidates?.[0];
        let shown = false;
        for (const part of candidate?.content?.parts ?? []) {
          // Thought summaries are not the answer.
          if (part.text && !part.thought) {
            shown = true;
            yield { type: 'delta', text: part.text };
          }
        }
        if (!shown) yield { type: 'alive' };
        if (chunk.usageMetadata) usage = usageFromGemini(chunk.usageMetadata);
        if (candidate?.finishReason) finishReason = candidate.finishReason;
      }
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (signal.aborted || isAbortError(error)) throw new ProviderError('cancelled', 'request cancelled');
      if (error instanceof SyntaxError) throw new ProviderError('stream', `Gemini (host ${this.options.hostName}) sent a malformed chunk: ${error.message}`);
      throw new ProviderError('stream', `Gemini (host ${this.options.hostName}) stream failed: ${(error as Error).message}`);
    }
    if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
    // No [DONE] in Gemini streams: the last chunk's finishReason is the only proof of a whole answer.
    if (!finishReason) throw new ProviderError('stream', `Gemini (host ${this.options.hostName}) ended the stream before the answer was complete`);
    yield { type: 'done', usage, ...normaliseFinish('gemini', finishReason) };
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // A 200 without a body yields no events; the missing finishReason is reported above.
}

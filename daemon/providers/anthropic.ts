import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ChatEvent, ChatRequest, CloudAdapterOptions, DiscoveredModel, HealthReport, ProviderAdapter } from './types';
import { ProviderError, zeroUsage } from './types';
import { normaliseFinish } from './finish-reason';
import { httpFailure, inStreamFailure, translateSdkError, type ErrorContext } from './http-errors';

/** Output budget when the caller sets none: Claude 3.5 and later accept it... */
const DEFAULT_MAX_TOKENS = 8192;
/** ...the Claude 3 models (Haiku, Sonnet, Opus of 2024) stop at 4096. */
const CLAUDE_3_MAX_TOKENS = 4096;

export function defaultMaxTokens(model: string): number {
  return /^claude-3-(haiku|sonnet|opus)-/.test(model) ? CLAUDE_3_MAX_TOKENS : DEFAULT_MAX_TOKENS;
}

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionError, APIConnectionTimeoutError };

/** The statuses Anthropic's error types stand for, for errors that arrive inside a stream. */
const STREAM_ERROR_STATUS: Record<string, number> = {
  overloaded_error: 529,
  api_error: 500,
  timeout_error: 504,
  rate_limit_error: 429,
  invalid_request_error: 400,
};

/**
 * Anthropic's Messages API through `@anthropic-ai/sdk`. The SDK's own retries are off: the daemon
 * retries and fails over itself, across hosts, with one policy for every provider.
 */
export class AnthropicAdapter implements ProviderAdapter {
  readonly provider = 'anthropic' as const;
  readonly baseUrl: string;
  private readonly client: Anthropic;
  private readonly context: ErrorContext;

  constructor(private readonly options: CloudAdapterOptions) {
    this.baseUrl = options.baseUrl;
    this.client = new Anthropic({
      apiKey: options.apiKey,
      // Never an ambient ANTHROPIC_AUTH_TOKEN: this host's key is the only credential sent.
      authToken: null,
      baseURL: options.baseUrl,
      maxRetries: 0,
      timeout: options.connectTimeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.context = {
      label: 'Anthropic',
      hostName: options.hostName,
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      ...(options.keyEnv ? { keyEnv: options.keyEnv } : {}),
    };
  }

  /** Listing models is free and needs a valid key: the cheapest honest probe. */
  async health(signal: AbortSignal): Promise<HealthReport> {
    try {
      await this.client.models.list({ limit: 1 }, { signal });
      return {};
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    try {
      // The SDK's auto-pagination follows has_more/after_id.
      for await (const model of this.client.models.list({ limit: 1000 }, { signal })) {
        const limit = (model as { max_input_tokens?: number | null }).max_input_tokens;
        models.push({ id: model.id, ...(limit ? { contextWindow: limit } : {}), details: { name: model.display_name } });
      }
    } catch (error) {
      throw this.translate(error, signal);
    }
    return models;
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const messages = request.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    const usage = zeroUsage();
    let finishReason: string | undefined;
    let stopped = false;
    let messageId: string | undefined;
    try {
      // The request id (a header) and the message id are what Anthropic's own logs and Claude Code's name a call by.
      const { data: stream, request_id: requestId } = await this.client.messages
        .create(
          {
            model: request.model,
            max_tokens: request.maxOutputTokens ?? defaultMaxTokens(request.model),
            messages,
            stream: true,
            ...(system ? { system } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          },
          { signal },
        )
        .withResponse();
      yield { type: 'accepted', ...(requestId ? { requestId } : {}) };
      for await (const event of stream) {
        switch (event.type) {
          case 'message_start': {
            const u = event.message.usage;
            usage.inputTokens = u.input_tokens;
            usage.cacheReadTokens = u.cache_read_input_tokens ?? 0;
            usage.cacheWriteTokens = u.cache_creation_input_tokens ?? 0;
            const oneHour = u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
            if (oneHour) usage.cacheWrite1hTokens = oneHour;
            usage.outputTokens = u.output_tokens;
            messageId = event.message.id;
            // The prompt's real counts, known now: what a cut answer is charged for its input.
            yield { type: 'usage', usage: { ...usage }, messageId };
            break;
          }
          case 'content_block_delta':
            // Thinking and tool-input deltas are not part of the answer text, but show progress.
            if (event.delta.type === 'text_delta' && event.delta.text) yield { type: 'delta', text: event.delta.text };
            else yield { type: 'alive' };
            break;
          case 'message_delta': {
            // Cumulative counts; newer API versions repeat the input side here too.
            const u = event.usage as {
              output_tokens: number;
              input_tokens?: number | null;
              cache_read_input_tokens?: number | null;
              cache_creation_input_tokens?: number | null;
            };
            usage.outputTokens = u.output_tokens;
            if (typeof u.input_tokens === 'number') usage.inputTokens = u.input_tokens;
            if (typeof u.cache_read_input_tokens === 'number') usage.cacheReadTokens = u.cache_read_input_tokens;
            if (typeof u.cache_creation_input_tokens === 'number') usage.cacheWriteTokens = u.cache_creation_input_tokens;
            if (event.delta.stop_reason) finishReason = event.delta.stop_reason;
            break;
          }
          case 'message_stop':
            stopped = true;
            break;
          default:
            break;
        }
      }
    } catch (error) {
      throw this.translate(error, signal, request.model);
    }
    if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
    // The SDK ends quietly when the body is cut; only message_stop says the answer is whole.
    if (!stopped) throw new ProviderError('stream', `Anthropic (host ${this.options.hostName}) ended the stream before the answer was complete`);
    yield { type: 'done', usage, ...normaliseFinish('anthropic', finishReason), ...(messageId ? { messageId } : {}) };
  }

  private translate(error: unknown, signal: AbortSignal, model?: string): ProviderError {
    return translateSdkError(error, signal, this.context, this.options.connectTimeoutMs, SDK_ERRORS, ({ status, headers, body, message }) => {
      const inner = (body as { error?: { type?: string; message?: string } } | undefined)?.error;
      if (status === undefined) {
        // An `event: error` inside a 200 stream: its type says what went wrong.
        return inStreamFailure(
          this.context,
          inner?.type ? STREAM_ERROR_STATUS[inner.type] : undefined,
          `${inner?.type ?? 'error'}: ${inner?.message ?? message}`,
        );
      }
      return httpFailure({ status, headers, message: inner?.message ?? message, code: inner?.type, model }, this.context);
    });
  }
}

import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Price } from '../../protocol/models';
import type { ChatEvent, ChatRequest, CloudAdapterOptions, DiscoveredModel, HealthReport, ProviderAdapter } from './types';
import { ProviderError, zeroUsage } from './types';
import { normaliseFinish } from './finish-reason';
import { httpFailure, inStreamFailure, translateSdkError, type ErrorContext } from './http-errors';

/** OpenAI's usage object with the fields OpenRouter adds; all optional, as they arrive. */
interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  cost?: number | null;
}

/**
 * Normalised usage from an OpenAI-style usage object. prompt_tokens includes cached (and, on
 * OpenRouter, cache-written) tokens and completion_tokens includes reasoning: each is counted once.
 */
export function usageFromOpenAI(wire: WireUsage): { usage: ReturnType<typeof zeroUsage>; costUsd?: number } {
  const usage = zeroUsage();
  const cached = wire.prompt_tokens_details?.cached_tokens ?? 0;
  const written = wire.prompt_tokens_details?.cache_write_tokens ?? 0;
  const reasoning = wire.completion_tokens_details?.reasoning_tokens ?? 0;
  usage.cacheReadTokens = cached;
  usage.cacheWriteTokens = written;
  usage.inputTokens = Math.max(0, (wire.prompt_tokens ?? 0) - cached - written);
  usage.reasoningTokens = reasoning;
  usage.outputTokens = Math.max(0, (wire.completion_tokens ?? 0) - reasoning);
  return { usage, ...(typeof wire.cost === 'number' ? { costUsd: wire.cost } : {}) };
}

/** OpenRouter prices are USD per token as decimal strings; ours are per million tokens. */
function perMTok(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const perToken = Number(value);
  // Negative sentinels mark router meta-models whose price depends on the pick.
  if (!Number.isFinite(perToken) || perToken < 0) return undefined;
  // Round away binary noise (0.000003 × 1e6 = 2.9999999999999996).
  return Math.round(perToken * 1e6 * 1e6) / 1e6;
}

function openRouterPrice(pricing: Record<string, unknown> | undefined): Price | undefined {
  if (!pricing) return undefined;
  const input = perMTok(pricing.prompt);
  const output = perMTok(pricing.completion);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = perMTok(pricing.input_cache_read);
  const cacheWrite = perMTok(pricing.input_cache_write);
  const perRequest = Number(pricing.request);
  return {
    inputPerMTok: input,
    outputPerMTok: output,
    ...(cacheRead !== undefined ? { cacheReadPerMTok: cacheRead } : {}),
    ...(cacheWrite !== undefined ? { cacheWritePerMTok: cacheWrite } : {}),
    ...(Number.isFinite(perRequest) && perRequest > 0 ? { perRequestUsd: perRequest } : {}),
  };
}

const SDK_ERRORS = { APIError, APIUserAbortError, APIConnectionError, APIConnectionTimeoutError };

/** OpenAI's list mixes in embedding, audio, image and moderation models that cannot chat. */
const NOT_CHAT = /embedding|whisper|tts|dall-e|moderation|davinci|babbage|transcribe|realtime|audio|image|search|computer-use|sora/i;

export type OpenAIFlavour = 'openai' | 'openrouter';

/**
 * OpenAI Chat Completions through the official `openai` SDK; OpenRouter speaks the same protocol
 * at its own base URL, with attribution headers, priced model listings and a reported cost.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly provider: OpenAIFlavour;
  readonly baseUrl: string;
  private readonly client: OpenAI;
  private readonly context: ErrorContext;

  constructor(
    flavour: OpenAIFlavour,
    private readonly options: CloudAdapterOptions,
  ) {
    this.provider = flavour;
    this.baseUrl = options.baseUrl;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      maxRetries: 0,
      timeout: options.connectTimeoutMs,
      // Never an ambient OPENAI_ORG_ID/PROJECT_ID meant for another host.
      organization: null,
      project: null,
      ...(flavour === 'openrouter'
        ? { defaultHeaders: { 'HTTP-Referer': 'https://github.com/aid-dev/aid', 'X-OpenRouter-Title': 'aid', 'X-Title': 'aid' } }
        : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.context = {
      label: flavour === 'openrouter' ? 'OpenRouter' : 'OpenAI',
      hostName: options.hostName,
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      ...(options.keyEnv ? { keyEnv: options.keyEnv } : {}),
    };
  }

  /**
   * Free probes that prove the key: OpenRouter's /key (its /models needs no key at all), OpenAI's
   * model list.
   */
  async health(signal: AbortSignal): Promise<HealthReport> {
    try {
      if (this.provider === 'openrouter') await this.client.get('/key', { signal });
      else await this.client.models.list({ signal });
      return {};
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    try {
      for await (const model of this.client.models.list({ signal })) {
        if (this.provider === 'openai' && NOT_CHAT.test(model.id)) continue;
        // OpenRouter's listing carries context length and prices; the SDK passes them through.
        const extra = model as unknown as { context_length?: number; pricing?: Record<string, unknown>; name?: string };
        const price = openRouterPrice(extra.pricing);
        models.push({
          id: model.id,
          ...(typeof extra.context_length === 'number' ? { contextWindow: extra.context_length } : {}),
          ...(price ? { price } : {}),
          ...(extra.name ? { details: { name: extra.name } } : {}),
        });
      }
    } catch (error) {
      throw this.translate(error, signal);
    }
    return models;
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    let finishReason: string | undefined;
    let wireUsage: WireUsage | undefined;
    let messageId: string | undefined;
    try {
      const { data: stream, request_id: requestId } = await this.client.chat.completions
        .create(
          {
            model: request.model,
            messages: request.messages,
            stream: true,
            // Without it OpenAI sends no usage at all in a stream.
            stream_options: { include_usage: true },
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            // OpenRouter documents max_tokens; OpenAI's reasoning models accept only max_completion_tokens.
            ...(request.maxOutputTokens
              ? this.provider === 'openrouter'
                ? { max_tokens: request.maxOutputTokens }
                : { max_completion_tokens: request.maxOutputTokens }
              : {}),
          },
          { signal },
        )
        .withResponse();
      yield { type: 'accepted', ...(requestId ? { requestId } : {}) };
      for await (const chunk of stream) {
        messageId ??= chunk.id || undefined;
        const choice = chunk.choices[0];
        const text = choice?.delta?.content;
        // Reasoning (OpenRouter's delta.reasoning), tool calls and role chunks show progress only.
        if (text) yield { type: 'delta', text };
        else yield { type: 'alive' };
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        // Taken from whichever chunk has it: some compatible servers put it on the last content chunk.
        if (chunk.usage) wireUsage = chunk.usage;
      }
    } catch (error) {
      throw this.translate(error, signal, request.model);
    }
    if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
    // A cut stream ends quietly in the SDK; a finish_reason is what says the answer is whole.
    if (!finishReason)
      throw new ProviderError('stream', `${this.context.label} (host ${this.options.hostName}) ended the stream before the answer was complete`);
    if (!wireUsage) {
      yield { type: 'warning', message: `${this.context.label} (host ${this.options.hostName}) reported no token usage for this answer; its cost is unknown` };
    }
    const { usage, costUsd } = usageFromOpenAI(wireUsage ?? {});
    yield {
      type: 'done',
      usage,
      ...normaliseFinish(this.provider, finishReason),
      ...(costUsd !== undefined ? { providerCostUsd: costUsd } : {}),
      ...(messageId ? { messageId } : {}),
    };
  }

  private translate(error: unknown, signal: AbortSignal, model?: string): ProviderError {
    return translateSdkError(error, signal, this.context, this.options.connectTimeoutMs, SDK_ERRORS, ({ status, headers, body: raw, message }) => {
      const body = raw as { message?: string; code?: string | number; type?: string; metadata?: { reasons?: unknown; flagged_input?: unknown } } | undefined;
      if (status === undefined) {
        // An error chunk inside a 200 stream (OpenRouter: the upstream provider failed mid-answer);
        // OpenRouter's codes are HTTP statuses, OpenAI's are names.
        const code = body?.code ?? body?.type;
        const like = typeof code === 'number' ? code : code === 'server_error' ? 500 : code === 'rate_limit_exceeded' || code === 'requests' ? 429 : undefined;
        return inStreamFailure(this.context, like, body?.message ?? message);
      }
      const moderated =
        this.provider === 'openrouter' && status === 403 && (body?.metadata?.reasons !== undefined || body?.metadata?.flagged_input !== undefined);
      const code = moderated ? 'moderation' : body?.code !== undefined && body.code !== null ? String(body.code) : body?.type;
      return httpFailure({ status, headers, message: body?.message ?? message, code, model }, this.context);
    });
  }
}

import type { FinishReason, Usage } from '../../protocol/chat';
import type { ModelKind, Price } from '../../protocol/models';
import type { ProviderKind } from '../../protocol/hosts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxOutputTokens?: number;
  temperature?: number;
}

/** What a streaming chat yields: `accepted`, text as it arrives, then exactly one `done`. */
export type ChatEvent =
  /**
   * The provider took the request (its response began): from here on it may bill the prompt, so
   * a call cut or cancelled after this is charged an estimate, one cut before it costs nothing.
   */
  | { type: 'accepted'; requestId?: string }
  /** Counts the provider reported before the end (Anthropic's message_start): a cut call is charged from them. */
  | { type: 'usage'; usage: Usage; messageId?: string }
  | { type: 'delta'; text: string }
  /** Something the user should know that does not stop the answer (a truncated prompt). */
  | { type: 'warning'; message: string }
  /**
   * The host is working but sent nothing to show (thinking, tool input, keep-alives): keeps the
   * idle watchdog from abandoning a model that reasons for minutes before it answers.
   */
  | { type: 'alive' }
  | {
      type: 'done';
      usage: Usage;
      /** Normalised (finish-reason.ts); the provider's own word beside it. */
      finishReason: FinishReason;
      providerFinishReason?: string;
      /** What the provider itself billed (OpenRouter's usage.cost), in USD. */
      providerCostUsd?: number;
      /** Generation speed as the host measured it (Ollama's eval_duration), when it says. */
      tokensPerSecond?: number;
      /** The provider's id of the answer (Anthropic's message id, OpenAI's completion id). */
      messageId?: string;
    };

export interface DiscoveredModel {
  id: string;
  /** Absent means chat: only hosts that serve embeddings too (Ollama) say otherwise. */
  kind?: ModelKind;
  contextWindow?: number;
  /** USD per million tokens, when the listing carries prices (OpenRouter). */
  price?: Price;
  /** Extra facts worth showing (size, family, quantisation). */
  details?: Record<string, string | number>;
}

export interface HealthReport {
  version?: string;
}

/**
 * One provider API. Every adapter speaks through its official SDK; the rest of the daemon sees
 * only this interface, so a new provider is one new file plus a line in the adapter factory.
 * All methods take an AbortSignal and must stop network work promptly when it fires.
 */
export interface ProviderAdapter {
  readonly provider: ProviderKind;
  readonly baseUrl: string;
  listModels(signal: AbortSignal): Promise<DiscoveredModel[]>;
  health(signal: AbortSignal): Promise<HealthReport>;
  streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
}

export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface LoadedModelInfo {
  id: string;
  sizeBytes: number;
  vramBytes: number;
  expiresAt: string;
  contextLength?: number;
}

/** Hosts that hold models locally (Ollama) can also fetch, delete and list loaded models. */
export interface ModelManager {
  pull(model: string, onProgress: (progress: PullProgress) => void, signal: AbortSignal): Promise<void>;
  remove(model: string, signal: AbortSignal): Promise<void>;
  loaded(signal: AbortSignal): Promise<LoadedModelInfo[]>;
}

export function isModelManager(adapter: ProviderAdapter | undefined): adapter is ProviderAdapter & ModelManager {
  return adapter !== undefined && 'pull' in adapter && 'remove' in adapter && 'loaded' in adapter;
}

export type ProviderErrorKind = 'unreachable' | 'timeout' | 'not_found' | 'auth' | 'rate_limited' | 'quota' | 'bad_request' | 'server' | 'cancelled' | 'stream';

/** Everything a cloud adapter needs to reach one host. */
export interface CloudAdapterOptions {
  hostName: string;
  baseUrl: string;
  apiKey: string;
  keyEnv?: string[];
  /** Deadline for the response headers of a call; a stream's body is watched by the caller. */
  connectTimeoutMs: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** A provider failure already translated into what the user should know and do. */
export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export function zeroUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
}

/** Network errno codes meaning "nothing is listening there" rather than a protocol failure. */
export function isConnectionError(error: unknown): boolean {
  // undici reports every network-level failure (refused, DNS, blocked port) as this TypeError.
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'].includes(code)
    ) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

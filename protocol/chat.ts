import { NotificationType, RequestType } from 'vscode-jsonrpc';

/** Token usage; the four input classes add up to the whole prompt. */
export interface Usage {
  /** Uncached input tokens only. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

export interface AskParams {
  prompt: string;
  /** `HOST/MODEL`, a bare `MODEL`, or absent for the default. */
  model?: string;
  sessionId?: string;
  newSession?: boolean;
  /** The client's project directory (git root); used for context in later releases. */
  project?: string;
  noContext?: boolean;
  maxCostUsd?: number;
  /**
   * Chosen by the client, unique on its connection: every `aid/ask/delta` notification of this
   * request carries it, so deltas can be told apart when several asks run at once.
   */
  streamToken: string;
}

export interface AskResult {
  ref: string;
  sessionId: string;
  usage: Usage;
  /** null when the price is not known (never a made-up 0). Ollama is free: 0. */
  costUsd: number | null;
  latencyMs: number;
  ttftMs: number | null;
  finishReason: string;
}

export interface AskDeltaParams {
  streamToken: string;
  text: string;
}

/**
 * Streams an answer: the daemon sends `aid/ask/delta` notifications as text arrives, then answers
 * the request with the usage summary. `$/cancelRequest` aborts the upstream call.
 */
export const AskRequest = new RequestType<AskParams, AskResult, void>('aid/ask');
export const AskDeltaNotification = new NotificationType<AskDeltaParams>('aid/ask/delta');

import { NotificationType, RequestType } from 'vscode-jsonrpc';

/** Token usage; the four input classes add up to the whole prompt. */
export interface Usage {
  /** Uncached input tokens only. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** Tokens written to the provider's prompt cache (all lifetimes). */
  cacheWriteTokens: number;
  /** The part of cacheWriteTokens written with a 1-hour lifetime (Anthropic prices it higher). */
  cacheWrite1hTokens?: number;
  /** Thinking tokens billed as output but not shown; outputTokens excludes them. */
  reasoningTokens: number;
}

export interface AskParams {
  prompt: string;
  /** `HOST/MODEL`, a bare `MODEL`, or absent for the default. */
  model?: string;
  sessionId?: string;
  newSession?: boolean;
  /** Continue the latest session of `project` (`aic ask -c`), with its model; a new one when it has none. */
  continueLast?: boolean;
  /** A system prompt before the conversation; default: the config's `systemPrompt`. */
  system?: string;
  /** Sampling temperature (0 to 2), passed to the provider. */
  temperature?: number;
  /** The most output tokens of the answer (a hard budget's cap applies when lower). */
  maxOutputTokens?: number;
  /**
   * The client's project directory (its git root, or --project). Context from it is attached when
   * it is a git repository or `projectExplicit` is set, unless `noContext`.
   */
  project?: string;
  projectExplicit?: boolean;
  /** Use the project even when it is /, the home directory or above it (`--project-force`); refused otherwise, with a notice. */
  projectForce?: boolean;
  noContext?: boolean;
  /** Files the user added to the context by hand (`/context add`); `@path` in the prompt adds too. */
  contextAdd?: string[];
  /** Files the user took out of the context by hand (`/context drop`). */
  contextDrop?: string[];
  /** The file open in the editor, which seeds the ranking. */
  openFile?: string;
  /** The client's working directory: `@path` in the prompt is looked up from it first, then from the project root. */
  cwd?: string;
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
  /** Output tokens per second of generation (the host's own measure when it gives one). */
  tokensPerSecond?: number;
  /** What the user should know about this answer (a truncated prompt, hosts that failed first). */
  warnings?: string[];
  /** The project files attached to the question, when any were. */
  context?: AttachedContext;
}

/** Files the intelligence engine put before the question, each with the lines sent. */
export interface AttachedContext {
  project: string;
  files: { path: string; tokens: number; startLine: number; endLine: number; whole: boolean }[];
  tokensUsed: number;
  tokenBudget: number;
}

export interface AskDeltaParams {
  streamToken: string;
  text: string;
}

/**
 * Told to the client while an ask runs, before or beside the text: `failover` (a host failed
 * before any text; the request moves to the next host serving the model), `retry` (the host asked
 * to wait; the daemon waits and retries), `warning` (the answer continues, but read this).
 */
export interface AskNoticeParams {
  streamToken: string;
  kind: 'failover' | 'retry' | 'warning';
  message: string;
  /** The host that failed or warned, and for a failover the ref tried next. */
  host?: string;
  next?: string;
  waitMs?: number;
}

/**
 * Streams an answer: the daemon sends `aid/ask/delta` notifications as text arrives, then answers
 * the request with the usage summary. `$/cancelRequest` aborts the upstream call.
 */
export const AskRequest = new RequestType<AskParams, AskResult, void>('aid/ask');
export const AskDeltaNotification = new NotificationType<AskDeltaParams>('aid/ask/delta');
export const AskNoticeNotification = new NotificationType<AskNoticeParams>('aid/ask/notice');

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
  /** What the editor shows: the buffer (saved or not), the selection, the cursor. */
  editor?: EditorContext;
  /**
   * Chosen by the client: while the first ask in a project waits for its index, the daemon sends
   * `aid/context/progress` notifications carrying it.
   */
  progressToken?: string;
  /**
   * Chosen by the client, unique on its connection: every `aid/ask/delta` notification of this
   * request carries it, so deltas can be told apart when several asks run at once.
   */
  streamToken: string;
}

/** A place in a buffer as LSP counts it: 0-based line, 0-based character (UTF-16 code units). */
export interface EditorPosition {
  line: number;
  character: number;
}

export interface EditorSelection {
  start: EditorPosition;
  end: EditorPosition;
  /** The selected text, as the editor has it. */
  text: string;
}

/**
 * The editor's view of the question: the selection goes before everything else (counted in the
 * context budget); the buffer's text, saved or not, is sent instead of the file's disk copy.
 */
export interface EditorContext {
  /** The buffer's file, absolute or relative to the project. */
  file?: string;
  /** The editor's language id (`typescript`, `lua`): the code fence of what is sent. */
  language?: string;
  /** The whole buffer as the editor has it, unsaved changes included. */
  text?: string;
  selection?: EditorSelection;
  cursor?: EditorPosition;
}

/**
 * Why an answer ended, the same for every provider: `stop` (the model finished), `length` (the
 * output cap or the window cut it), `content_filter` (the provider's filter stopped or refused
 * it), `tool_use` (the model asked for a tool), `error` (the provider ended it with an error
 * while streaming), `other` (anything else the provider said; see `providerFinishReason`).
 */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_use' | 'error' | 'other';
export const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'content_filter', 'tool_use', 'error', 'other'];

export interface AskResult {
  ref: string;
  sessionId: string;
  usage: Usage;
  /** null when the price is not known (never a made-up 0). Ollama is free: 0. */
  costUsd: number | null;
  latencyMs: number;
  ttftMs: number | null;
  finishReason: FinishReason;
  /** The provider's own word for it (`end_turn`, `MAX_TOKENS`, `tool_calls`), when it gave one. */
  providerFinishReason?: string;
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
  files: AttachedFile[];
  tokensUsed: number;
  tokenBudget: number;
}

/** Part of a file sent before the question; lines are 1-based and inclusive. */
export interface AttachedFile {
  path: string;
  tokens: number;
  startLine: number;
  endLine: number;
  whole: boolean;
  /** Where the text came from when not the project's file on disk: the editor's selection or its unsaved buffer. */
  from?: 'selection' | 'buffer';
}

/**
 * Sent once per ask, when a host first takes its question (the provider's response began), before
 * any text: the session it is a turn of and the model answering. A host that failed before that
 * was only named by a `failover` notice; the result's `ref` is the one that answered.
 */
export interface AskStartParams {
  streamToken: string;
  ref: string;
  sessionId: string;
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
 * Streams an answer: the daemon sends `aid/ask/start` when a host takes the question, `aid/ask/delta`
 * notifications as text arrives, then answers the request with the usage summary. `$/cancelRequest` aborts the upstream call.
 */
export const AskRequest = new RequestType<AskParams, AskResult, void>('aid/ask');
/** Once per ask, when a host takes its question, before any text: its session and the model answering. */
export const AskStartNotification = new NotificationType<AskStartParams>('aid/ask/start');
/** The answer's text as it arrives, in order; text of one event-loop turn goes as one. */
export const AskDeltaNotification = new NotificationType<AskDeltaParams>('aid/ask/delta');
/** While an ask runs: a failover, a retry, or a warning about the answer (repeated in the result's `warnings`). */
export const AskNoticeNotification = new NotificationType<AskNoticeParams>('aid/ask/notice');

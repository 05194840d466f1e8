import { NotificationType, RequestType } from 'vscode-jsonrpc';

/** A file the intelligence engine ranked for a question, with why. Paths are relative to the project. */
export interface RankedContextFile {
  path: string;
  /** 0..1: the weighted mean of the ranking signals, each normalised over the candidates. */
  score: number;
  reasons: string[];
  /** Estimated tokens of the whole file (4 characters a token). */
  tokens: number;
}

export interface ContextIndexProgress {
  state: 'indexing' | 'ready' | 'error';
  filesDone: number;
  filesTotal: number;
  message?: string;
  /**
   * Set when indexing stopped at a limit (context.maxFiles, context.maxBytes): says where and what
   * to change. The index keeps what it has and answers from it.
   */
  partial?: string;
}

export interface ContextParams {
  /** The project directory (its git root); the daemon opens and watches it. */
  project: string;
  /** The user named the directory (--project): it is used even outside git. */
  projectExplicit?: boolean;
  /** Index the project even when it is /, the home directory or above it (`--project-force`); an InvalidParams error otherwise. */
  projectForce?: boolean;
  query: string;
  limit?: number;
  /** The file open in the editor: it seeds the import-graph proximity. */
  openFile?: string;
  /** The model whose context window sets the token budget; default: the model `aic ask` would use. */
  model?: string;
  /** Chosen by the client: `aid/context/progress` notifications of this request carry it. */
  progressToken?: string;
}

/** How the daemon brought a project's files up to date since it opened the project. */
export interface ContextIndexCounters {
  /** Read and parsed: content never seen before. */
  parsed: number;
  /** Read and hashed, its content already parsed (a touch, a revert). */
  hashed: number;
  /** Same size and time as stored: not read at all. */
  unchanged: number;
  skipped: number;
  removed: number;
}

/** The contract's `aic context --json` shape, plus the index state it was answered from. */
export interface ContextResult {
  project: string;
  files: RankedContextFile[];
  tokenBudget: number;
  tokensUsed: number;
  index: ContextIndexProgress & { counters: ContextIndexCounters };
}

export interface ContextSuggestParams {
  project: string;
  projectExplicit?: boolean;
  projectForce?: boolean;
  /** The file the user is in; relative to the project or absolute inside it. */
  file: string;
  limit?: number;
  progressToken?: string;
}
export interface ContextSuggestResult {
  project: string;
  file: string;
  files: RankedContextFile[];
}

/** What the learner has learnt for a project: inspectable, and resettable with aid/context/reset. */
export interface ContextExplainResult {
  project: string;
  weights: Record<string, number>;
  defaultWeights: Record<string, number>;
  topPriors: { path: string; prior: number; helped: number; attached: number; removed: number }[];
  questions: number;
  feedbackEvents: number;
}

export interface ContextProgressParams extends ContextIndexProgress {
  progressToken: string;
  project: string;
}

export const ContextRequest = new RequestType<ContextParams, ContextResult, void>('aid/context');
export const ContextSuggestRequest = new RequestType<ContextSuggestParams, ContextSuggestResult, void>('aid/context/suggest');
/** Which project a request is about, as aid/context takes it. */
export interface ContextProjectParams {
  project: string;
  projectExplicit?: boolean;
  projectForce?: boolean;
}

export const ContextExplainRequest = new RequestType<ContextProjectParams, ContextExplainResult, void>('aid/context/explain');
export const ContextResetRequest = new RequestType<ContextProjectParams, { project: string }, void>('aid/context/reset');
/** Indexing progress while an `aid/context*` request or the first `aid/ask` in a project waits for its first index (at most ten a second). */
export const ContextProgressNotification = new NotificationType<ContextProgressParams>('aid/context/progress');

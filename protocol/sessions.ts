import { RequestType } from 'vscode-jsonrpc';
import type { AttachedContext, Usage } from './chat';

export interface SessionSummary {
  id: string;
  /** The first line of the first prompt. */
  title: string;
  createdAt: number;
  updatedAt: number;
  turns: number;
  /** The model of the latest answer. */
  lastRef?: string;
  /** The project the session was started in (what `aic ask -c` continues). */
  project?: string;
  /** What its priced turns cost; turns of unknown cost are counted in unpricedTurns instead. */
  costUsd?: number;
  unpricedTurns?: number;
}

/** One question and its answer; `complete: false` when the answer was cut short (or is streaming). */
export interface Turn {
  index: number;
  time: number;
  user: string;
  assistant: string;
  ref?: string;
  usage?: Usage;
  costUsd?: number | null;
  latencyMs?: number;
  ttftMs?: number | null;
  finishReason?: string;
  complete: boolean;
  error?: string;
  /** The project files (or parts) attached as context to the question. */
  context?: AttachedContext['files'];
}

export const SessionsListRequest = new RequestType<{ limit?: number }, SessionSummary[], void>('aid/sessions/list');
export const SessionsShowRequest = new RequestType<{ id: string }, { session: SessionSummary; turns: Turn[] }, void>('aid/sessions/show');
export const SessionsRemoveRequest = new RequestType<{ id: string }, { id: string }, void>('aid/sessions/rm');
export const SessionsSearchRequest = new RequestType<{ text: string; limit?: number }, { session: SessionSummary; turn: number; snippet: string }[], void>(
  'aid/sessions/search',
);
export const SessionsExportRequest = new RequestType<{ id: string; format: 'md' | 'json' }, { id: string; format: 'md' | 'json'; content: string }, void>(
  'aid/sessions/export',
);

/** Session analytics: one session, or all of them. */
export interface SessionStats {
  sessions: number;
  turns: number;
  incompleteTurns: number;
  tokens: { input: number; cacheRead: number; cacheWrite: number; output: number; reasoning: number };
  costUsd: number;
  /** Turns whose cost is unknown. */
  unpricedTurns: number;
  avgLatencyMs: number | null;
  avgTtftMs: number | null;
  /** Output and reasoning tokens over the time from first token to the end, complete turns only. */
  tokensPerSecond: number | null;
  byModel: { ref: string; turns: number; costUsd: number; unpricedTurns: number; outputTokens: number; tokensPerSecond: number | null }[];
}
export const SessionsStatsRequest = new RequestType<{ id?: string }, SessionStats, void>('aid/sessions/stats');

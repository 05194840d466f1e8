import { randomUUID } from 'node:crypto';
import { invalidParams, notFound } from '../errors/aid-error';
import type { SessionStats, SessionSummary, Turn } from '../../protocol/sessions';
import { roundUsd } from '../pricing/money';
import { conservativeTokens, messagesTokens } from '../tokens/count';
import { formatUsd } from '../../protocol/money';
import type { Store } from '../store/store';

/** What the model sees of a session: its turns as alternating messages. */
export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** How a turn ended, written when it ends: the turn's own fields, its question aside. */
export type TurnOutcome = Pick<Turn, 'assistant' | 'complete'> &
  Partial<Pick<Turn, 'usage' | 'costUsd' | 'latencyMs' | 'ttftMs' | 'finishReason' | 'error' | 'context'>> & { ref: string };

const turnKey = (sessionId: string, index: number): string => `${sessionId}\u0000${String(index).padStart(8, '0')}`;
/** The keys of one session's turns. */
const turnRange = (sessionId: string): { start: string; end: string } => ({ start: turnKey(sessionId, 0), end: turnKey(sessionId, 99_999_999) });

/** Partial answers are saved at most this often while they stream (a kill -9 keeps the rest). */
const PROGRESS_EVERY_MS = 1000;

/**
 * Conversations in lmdb: a session record and one row per turn. A turn is written when its
 * question is asked (marked incomplete), its answer saved as it streams, and completed when it
 * ends, so a cancel, an error or a killed daemon leaves the question and the partial answer.
 */
export class Sessions {
  /** Turns being answered: one at a time per session, so two clients never interleave. */
  private readonly busy = new Map<string, Promise<void>>();
  private readonly lastSaved = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private sessions(): ReturnType<Store['db']> {
    return this.store.db<SessionSummary>('sessions');
  }

  private turns(): ReturnType<Store['db']> {
    return this.store.db<Turn>('turns');
  }

  /** A full id from an id or a unique prefix of one (as git takes short hashes). */
  resolve(idOrPrefix: string): string {
    if (this.sessions().get(idOrPrefix)) return idOrPrefix;
    const matches: string[] = [];
    for (const { key } of this.sessions().getRange({ start: idOrPrefix })) {
      const id = String(key);
      if (!id.startsWith(idOrPrefix)) break;
      matches.push(id);
      if (matches.length > 5) break;
    }
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      throw invalidParams(`session '${idOrPrefix}' is ambiguous: ${matches.slice(0, 5).join(', ')}…; give more of the id`, ['sessionId']);
    }
    throw notFound(`no session '${idOrPrefix}' (see \`aic sessions\`)`, 'session', idOrPrefix);
  }

  /** The session of `project` most recently added to (what `aic ask -c` continues), if it has one. */
  latestIn(project: string): string | undefined {
    let latest: SessionSummary | undefined;
    for (const { value } of this.sessions().getRange()) {
      const s = value as SessionSummary;
      if (s.project === project && (!latest || s.updatedAt > latest.updatedAt)) latest = s;
    }
    return latest?.id;
  }

  get(id: string): SessionSummary | undefined {
    return this.sessions().get(id) as SessionSummary | undefined;
  }

  list(limit = 50): SessionSummary[] {
    const all: SessionSummary[] = [];
    for (const { value } of this.sessions().getRange()) all.push(value as SessionSummary);
    return all.sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
  }

  history(id: string): Turn[] {
    const out: Turn[] = [];
    for (const { value } of this.turns().getRange(turnRange(id))) out.push(value as Turn);
    return out;
  }

  /**
   * Starts a turn: in the given session (id or prefix), or a new one. Waits for a turn already
   * running in the same session. Returns the history before it, for the model. Nothing is written
   * until `commit` (called when the question is about to be sent): a refused or cancelled question
   * leaves no empty session behind. `done` lets the next turn of the session go.
   */
  async begin(params: {
    sessionId?: string;
    prompt: string;
    project?: string;
  }): Promise<{ sessionId: string; index: number; history: HistoryMessage[]; commit: () => Promise<void>; done: () => void }> {
    const sessionId = params.sessionId ? this.resolve(params.sessionId) : randomUUID();
    // One turn at a time per session: the next waits for the previous to end.
    const previous = this.busy.get(sessionId) ?? Promise.resolve();
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const chained = previous.then(() => mine);
    this.busy.set(sessionId, chained);
    void chained.then(() => {
      if (this.busy.get(sessionId) === chained) this.busy.delete(sessionId);
    });
    await previous;
    const now = this.now();
    const existing = this.get(sessionId);
    const history = existing ? this.history(sessionId) : [];
    const index = history.length;
    const summary: SessionSummary = existing
      ? { ...existing, updatedAt: now, turns: index + 1 }
      : { id: sessionId, title: titleOf(params.prompt), createdAt: now, updatedAt: now, turns: 1, ...(params.project ? { project: params.project } : {}) };
    const turn: Turn = { index, time: now, user: params.prompt, assistant: '', complete: false };
    let committed: Promise<void> | undefined;
    const commit = (): Promise<void> =>
      (committed ??= this.store.transaction(() => {
        void this.sessions().put(sessionId, summary);
        void this.turns().put(turnKey(sessionId, index), turn);
      }));
    const messages: HistoryMessage[] = [];
    for (const t of history) {
      messages.push({ role: 'user', content: t.user });
      // A cut answer is still what the user saw; the model gets it as said.
      if (t.assistant) messages.push({ role: 'assistant', content: t.assistant });
    }
    return { sessionId, index, history: messages, commit, done };
  }

  /** Saves the answer so far, at most once a second: what survives a killed daemon. */
  progress(sessionId: string, index: number, assistant: string): Promise<unknown> {
    const key = turnKey(sessionId, index);
    const now = this.now();
    if (now - (this.lastSaved.get(key) ?? 0) < PROGRESS_EVERY_MS) return Promise.resolve();
    this.lastSaved.set(key, now);
    const turn = this.turns().get(key) as Turn | undefined;
    return turn ? this.turns().put(key, { ...turn, assistant }) : Promise.resolve();
  }

  /** The answer saved so far of a turn (what a crash left of it). */
  partialAnswer(sessionId: string, index: number): string {
    return (this.turns().get(turnKey(sessionId, index)) as Turn | undefined)?.assistant ?? '';
  }

  /**
   * A turn a crash cut: it stays incomplete with what was saved, and carries the estimate its call
   * was charged, so the session shows what the ledger does.
   */
  async chargeInterrupted(sessionId: string, index: number, outcome: { ref: string; costUsd: number | null; error: string }): Promise<void> {
    const turn = this.turns().get(turnKey(sessionId, index)) as Turn | undefined;
    if (!turn || turn.complete) return;
    await this.finish(sessionId, index, { assistant: turn.assistant, complete: false, ...outcome });
  }

  async finish(sessionId: string, index: number, outcome: TurnOutcome): Promise<void> {
    const key = turnKey(sessionId, index);
    this.lastSaved.delete(key);
    const turn = this.turns().get(key) as Turn | undefined;
    if (!turn) return;
    const { usage, costUsd, latencyMs, ttftMs, finishReason, error, ...rest } = outcome;
    await this.turns().put(key, {
      ...turn,
      ...rest,
      ...(usage ? { usage } : {}),
      ...(costUsd !== undefined ? { costUsd } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(ttftMs !== undefined ? { ttftMs } : {}),
      ...(finishReason ? { finishReason } : {}),
      ...(error ? { error } : {}),
    });
    const summary = this.get(sessionId);
    if (summary) {
      await this.sessions().put(sessionId, {
        ...summary,
        updatedAt: this.now(),
        lastRef: outcome.ref,
        costUsd: (summary.costUsd ?? 0) + (costUsd ?? 0),
        // A turn of unknown cost is counted, never added as $0.
        ...(costUsd === null || summary.unpricedTurns ? { unpricedTurns: (summary.unpricedTurns ?? 0) + (costUsd === null ? 1 : 0) } : {}),
      });
    }
  }

  /**
   * Full-text search over every turn (question and answer), case-insensitive, newest sessions
   * first; each hit with a snippet around the first match.
   */
  search(text: string, limit = 50): { session: SessionSummary; turn: number; snippet: string }[] {
    const needle = text.toLowerCase();
    const hits: { session: SessionSummary; turn: number; snippet: string }[] = [];
    for (const { key, value } of this.turns().getRange()) {
      const t = value as Turn;
      const body = [t.user, t.assistant].find((b) => b.toLowerCase().includes(needle));
      if (body === undefined) continue;
      const session = this.get(String(key).split('\u0000')[0] ?? '');
      if (session) hits.push({ session, turn: t.index, snippet: snippet(body, body.toLowerCase().indexOf(needle), needle.length) });
    }
    return hits.sort((a, b) => b.session.updatedAt - a.session.updatedAt || a.turn - b.turn).slice(0, limit);
  }

  /** Turns, tokens by class, cost, latency and models of one session (id) or of all. */
  stats(id?: string): SessionStats {
    const turns: Turn[] = id ? this.history(id) : [...this.turns().getRange()].map((e) => e.value as Turn);
    const stats: SessionStats = {
      // From lmdb's page statistics: counting need not read every session.
      sessions: id ? 1 : (this.sessions().getStats() as { entryCount: number }).entryCount,
      turns: turns.length,
      incompleteTurns: 0,
      tokens: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 },
      costUsd: 0,
      unpricedTurns: 0,
      avgLatencyMs: null,
      avgTtftMs: null,
      tokensPerSecond: null,
      byModel: [],
    };
    type ModelStats = SessionStats['byModel'][number] & { generated: number; generatingMs: number };
    const models = new Map<string, ModelStats>();
    // Tokens per second of generation: tokens written over the time from first token to the end.
    let generated = 0;
    let generatingMs = 0;
    const latencies: number[] = [];
    const ttfts: number[] = [];
    for (const t of turns) {
      if (!t.complete) stats.incompleteTurns++;
      if (t.usage) {
        stats.tokens.input += t.usage.inputTokens;
        stats.tokens.cacheRead += t.usage.cacheReadTokens;
        stats.tokens.cacheWrite += t.usage.cacheWriteTokens;
        stats.tokens.output += t.usage.outputTokens;
        stats.tokens.reasoning += t.usage.reasoningTokens;
      }
      if (t.costUsd === null) stats.unpricedTurns++;
      else if (t.costUsd !== undefined) stats.costUsd += t.costUsd;
      if (t.latencyMs !== undefined) latencies.push(t.latencyMs);
      if (typeof t.ttftMs === 'number') ttfts.push(t.ttftMs);
      const writing = t.complete && t.usage && t.latencyMs !== undefined && typeof t.ttftMs === 'number' ? t.latencyMs - t.ttftMs : 0;
      const written = writing > 0 && t.usage ? t.usage.outputTokens + t.usage.reasoningTokens : 0;
      if (written > 0) {
        generated += written;
        generatingMs += writing;
      }
      if (t.ref) {
        const m = models.get(t.ref) ?? {
          ref: t.ref,
          turns: 0,
          costUsd: 0,
          unpricedTurns: 0,
          outputTokens: 0,
          tokensPerSecond: null,
          generated: 0,
          generatingMs: 0,
        };
        m.turns++;
        if (t.costUsd === null) m.unpricedTurns++;
        else m.costUsd += t.costUsd ?? 0;
        m.outputTokens += t.usage?.outputTokens ?? 0;
        if (written > 0) {
          m.generated += written;
          m.generatingMs += writing;
        }
        models.set(t.ref, m);
      }
    }
    const rate = (tokens: number, ms: number): number | null => (ms > 0 ? Math.round((tokens / ms) * 10_000) / 10 : null);
    stats.tokensPerSecond = rate(generated, generatingMs);
    const mean = (xs: number[]): number | null => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
    stats.avgLatencyMs = mean(latencies);
    stats.avgTtftMs = mean(ttfts);
    stats.costUsd = roundUsd(stats.costUsd);
    stats.byModel = [...models.values()]
      .map(({ generated: g, generatingMs: ms, ...m }) => ({ ...m, costUsd: roundUsd(m.costUsd), tokensPerSecond: rate(g, ms) }))
      .sort((a, b) => b.turns - a.turns || a.ref.localeCompare(b.ref));
    return stats;
  }

  /** A session as Markdown a person reads: each turn with its model, cost and state. */
  markdown(id: string): string {
    const session = this.get(id);
    if (!session) return '';
    const lines = [
      `# ${session.title}`,
      '',
      `Session \`${session.id}\`, started ` +
        `${new Date(session.createdAt).toISOString()}, ` +
        `${session.turns} turns, ${formatUsd(session.costUsd ?? 0)}` +
        `${session.unpricedTurns ? ` and ${session.unpricedTurns} turns of unknown price` : ''} in all.`,
      '',
    ];
    for (const t of this.history(id)) {
      const meta = [
        t.ref,
        t.costUsd === undefined ? undefined : t.costUsd === null ? 'unpriced' : formatUsd(t.costUsd),
        t.usage
          ? `${t.usage.inputTokens + t.usage.cacheReadTokens + t.usage.cacheWriteTokens} in / ${t.usage.outputTokens + t.usage.reasoningTokens} out tokens`
          : undefined,
      ]
        .filter(Boolean)
        .join(' · ');
      lines.push(`## Turn ${t.index + 1}`, '', `**You** (${new Date(t.time).toISOString()}):`, '', t.user, '');
      if (t.context?.length)
        lines.push(`Context: ${t.context.map((f) => (f.whole ? `\`${f.path}\`` : `\`${f.path}\` lines ${f.startLine}-${f.endLine}`)).join(', ')}.`, '');
      lines.push(`**${t.ref ?? 'assistant'}**${meta ? ` (${meta})` : ''}:`, '', t.assistant || '_(no answer)_', '');
      if (!t.complete) lines.push(`> This answer is incomplete${t.error ? `: ${t.error}` : ''}.`, '');
    }
    return lines.join('\n');
  }

  async remove(idOrPrefix: string): Promise<string> {
    const id = this.resolve(idOrPrefix);
    await this.store.transaction(() => {
      void this.sessions().remove(id);
      for (const { key } of this.turns().getRange(turnRange(id))) void this.turns().remove(key);
    });
    return id;
  }
}

/** The first line of the first prompt, shortened: what a list of sessions shows. */
function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || '(empty)';
}

function snippet(body: string, at: number, length: number): string {
  const start = Math.max(0, at - 40);
  const end = Math.min(body.length, at + length + 40);
  return `${start > 0 ? '…' : ''}${body.slice(start, end).replace(/\s+/g, ' ')}${end < body.length ? '…' : ''}`;
}

/** A message's tokens, erring high (tokens/count.ts): too many is a failed request, too few is only room unused. */
function tokensOf(message: HistoryMessage): number {
  return messagesTokens([message], conservativeTokens);
}

/**
 * The newest part of a history that fits `budget` tokens beside the new prompt, dropping whole
 * turns from the oldest: a question is never kept without its answer, nor an answer without its
 * question. Returns how many turns were left out.
 */
export function fitHistory(history: HistoryMessage[], prompt: string, budget: number): { kept: HistoryMessage[]; droppedTurns: number } {
  // Group into turns: a user message and the assistant answer that follows it, if any.
  const turns: HistoryMessage[][] = [];
  for (const message of history) {
    if (message.role === 'user' || turns.length === 0) turns.push([message]);
    else turns[turns.length - 1].push(message);
  }
  let used = tokensOf({ role: 'user', content: prompt });
  let keepFrom = turns.length;
  for (let i = turns.length - 1; i >= 0; i--) {
    const cost = turns[i].reduce((n, m) => n + tokensOf(m), 0);
    if (used + cost > budget) break;
    used += cost;
    keepFrom = i;
  }
  return { kept: turns.slice(keepFrom).flat(), droppedTurns: keepFrom };
}

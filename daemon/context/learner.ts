import type { Store } from '../store/store';
import { DEFAULT_WEIGHTS, SIGNALS, type Signal, type SignalVector, type Weights } from './signals';
import { terms as termsOf } from './tokens';

/** How a file fared as context: credited when it helped, counted when attached or removed. */
export interface FilePrior {
  helped: number;
  attached: number;
  removed: number;
}

/** A past question and the files that helped answer it. */
export interface Memory {
  time: number;
  query: string;
  terms: string[];
  files: string[];
}

export interface LearnerExplanation {
  project: string;
  weights: Weights;
  defaultWeights: Weights;
  topPriors: Array<{ path: string; prior: number } & FilePrior>;
  questions: number;
  feedbackEvents: number;
}

/** A conversation still open to implicit feedback: edits within the window and a follow-up question. */
interface Pending {
  time: number;
  memoryKey: string;
  attached: Set<string>;
  credited: Set<string>;
}

const MAX_MEMORIES = 2000;
/** Learning rate of the multiplicative weight update; small, so one odd answer cannot flip the ranking. */
const RATE = 0.1;
const MIN_WEIGHT = 0.02;
/** Edits credited to one conversation at most. */
const MAX_EDIT_CREDITS = 20;

/**
 * What a project learned from past conversations, in lmdb (`ctx-learner`, keys under the project
 * root): signal weights, per-file priors and question → files memories. Everything is loaded into
 * memory when the project opens; writes go through lmdb's async batching.
 */
export class Learner {
  private weights: Weights;
  private readonly priors = new Map<string, FilePrior>();
  private memories: Array<{ key: string; memory: Memory }> = [];
  private readonly pending: Pending[] = [];
  private feedbackEvents = 0;
  private seq = 0;

  constructor(
    private readonly store: Store,
    private readonly root: string,
    private readonly now: () => number,
    /** Edits this long after an answer credit it, and a question this soon after is its follow-up. */
    private readonly windowMs: number,
    /** The weights before any learning (and after a reset). */
    private readonly initialWeights: Weights = DEFAULT_WEIGHTS,
  ) {
    this.weights = { ...initialWeights };
    this.load();
  }

  private db(): ReturnType<Store['db']> {
    return this.store.db('ctx-learner');
  }

  private key(...parts: string[]): string {
    return [this.root, ...parts].join('\u0000');
  }

  private load(): void {
    const w = this.db().get(this.key('weights')) as Weights | undefined;
    if (w) this.weights = { ...this.initialWeights, ...w };
    this.feedbackEvents = (this.db().get(this.key('events')) as number | undefined) ?? 0;
    const start = this.key('prior', '');
    for (const { key, value } of this.db().getRange({ start, end: `${start}\uffff` })) this.priors.set(String(key).slice(start.length), value as FilePrior);
    const qstart = this.key('q', '');
    for (const { key, value } of this.db().getRange({ start: qstart, end: `${qstart}\uffff` }))
      this.memories.push({ key: String(key), memory: value as Memory });
    this.seq = this.memories.length ? Number(this.memories[this.memories.length - 1].key.slice(qstart.length)) + 1 : 0;
  }

  currentWeights(): Weights {
    return { ...this.weights };
  }

  /** 0..1: how often a file helped when it was offered, smoothed so one success is not certainty. */
  prior(path: string): number {
    const p = this.priors.get(path);
    if (!p) return 0;
    return p.helped / (p.helped + 1 + 0.5 * Math.max(0, p.attached - p.helped) + p.removed);
  }

  priorOf(path: string): FilePrior | undefined {
    return this.priors.get(path);
  }

  /**
   * Files that helped similar past questions: similarity is the idf-weighted overlap of terms
   * (cosine), summed over the most similar questions. Also returns the best question per file,
   * for the reason shown to the user.
   */
  recall(query: string, idf: (term: string) => number): Map<string, { score: number; example: string; count: number }> {
    const out = new Map<string, { score: number; example: string; count: number }>();
    const q = new Set(termsOf(query));
    if (q.size === 0 || this.memories.length === 0) return out;
    let qNorm = 0;
    for (const t of q) qNorm += idf(t) ** 2;
    const scored: Array<{ sim: number; memory: Memory }> = [];
    for (const { memory } of this.memories) {
      let dot = 0;
      let mNorm = 0;
      for (const t of memory.terms) {
        const w = idf(t) ** 2;
        mNorm += w;
        if (q.has(t)) dot += w;
      }
      if (dot > 0) scored.push({ sim: dot / Math.sqrt(qNorm * mNorm), memory });
    }
    scored.sort((a, b) => b.sim - a.sim);
    for (const { sim, memory } of scored.slice(0, 20)) {
      if (sim < 0.1) break;
      for (const f of memory.files) {
        const cur = out.get(f);
        if (cur) {
          cur.score += sim;
          cur.count++;
        } else out.set(f, { score: sim, example: memory.query, count: 1 });
      }
    }
    return out;
  }

  /**
   * One conversation's feedback. `helpful`: attached files the answer referred to and files added
   * by hand; `unhelpful`: attached files it ignored; `removed`: taken out by hand. `signals` are
   * the ranking signals each file had when it was offered: the weights move toward the signals
   * that told helpful files from the rest.
   */
  async record(f: { query: string; attached: string[]; helpful: string[]; removed: string[]; signals: Map<string, SignalVector> }): Promise<void> {
    const now = this.now();
    this.expirePending(now);
    // A question soon after another that needed files the first did not attach: the first needed them too.
    const previous = this.pending[this.pending.length - 1];
    if (previous) {
      const missing = f.helpful.filter((p) => !previous.attached.has(p));
      if (missing.length) await this.addToMemory(previous.memoryKey, missing);
    }
    const helpful = new Set(f.helpful);
    const removed = new Set(f.removed);
    for (const p of new Set([...f.attached, ...f.helpful, ...f.removed])) {
      const prior = this.priors.get(p) ?? { helped: 0, attached: 0, removed: 0 };
      if (f.attached.includes(p)) prior.attached++;
      if (helpful.has(p)) prior.helped++;
      if (removed.has(p)) prior.removed++;
      this.priors.set(p, prior);
      void this.db().put(this.key('prior', p), prior);
    }
    this.updateWeights(f.helpful, f.attached.filter((p) => !helpful.has(p)).concat(f.removed), f.signals);
    const memoryKey = this.key('q', String(this.seq++).padStart(10, '0'));
    const memory: Memory = { time: now, query: f.query, terms: termsOf(f.query), files: [...helpful] };
    this.memories.push({ key: memoryKey, memory });
    void this.db().put(memoryKey, memory);
    while (this.memories.length > MAX_MEMORIES) {
      const old = this.memories.shift();
      if (old) void this.db().remove(old.key);
    }
    this.pending.push({ time: now, memoryKey, attached: new Set(f.attached), credited: new Set(helpful) });
    this.feedbackEvents++;
    await this.db().put(this.key('events'), this.feedbackEvents);
  }

  /** A file saved by the user: credited to every conversation answered within the window before. */
  async edited(path: string): Promise<void> {
    const now = this.now();
    this.expirePending(now);
    for (const p of this.pending) {
      // A checkout or a formatter touching many files is not the user acting on the answer.
      if (p.credited.has(path) || p.credited.size >= MAX_EDIT_CREDITS) continue;
      p.credited.add(path);
      const prior = this.priors.get(path) ?? { helped: 0, attached: 0, removed: 0 };
      prior.helped++;
      this.priors.set(path, prior);
      void this.db().put(this.key('prior', path), prior);
      await this.addToMemory(p.memoryKey, [path]);
    }
  }

  private async addToMemory(key: string, files: string[]): Promise<void> {
    const entry = this.memories.find((m) => m.key === key);
    if (!entry) return;
    entry.memory.files = [...new Set([...entry.memory.files, ...files])];
    await this.db().put(key, entry.memory);
  }

  private expirePending(now: number): void {
    while (this.pending.length && now - this.pending[0].time > this.windowMs) this.pending.shift();
  }

  private updateWeights(helpful: string[], unhelpful: string[], signals: Map<string, SignalVector>): void {
    const mean = (paths: string[], s: Signal): number | undefined => {
      const known = paths.map((p) => signals.get(p)).filter((v): v is SignalVector => v !== undefined);
      return known.length ? known.reduce((sum, v) => sum + v[s], 0) / known.length : undefined;
    };
    // Without an ignored file to compare with, the helpful ones are compared with every candidate.
    const others = unhelpful.length ? unhelpful : [...signals.keys()].filter((p) => !helpful.includes(p));
    let changed = false;
    for (const s of SIGNALS) {
      const good = mean(helpful, s);
      const bad = mean(others, s);
      if (good === undefined || bad === undefined) continue;
      this.weights[s] = Math.max(MIN_WEIGHT, this.weights[s] * Math.exp(RATE * (good - bad)));
      changed = true;
    }
    if (!changed) return;
    const total = SIGNALS.reduce((sum, s) => sum + this.weights[s], 0);
    for (const s of SIGNALS) this.weights[s] /= total;
    void this.db().put(this.key('weights'), this.weights);
  }

  /** Files that helped past questions together with `path`, with how many times. */
  coAccessed(path: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const { memory } of this.memories) {
      if (!memory.files.includes(path)) continue;
      for (const f of memory.files) if (f !== path) out.set(f, (out.get(f) ?? 0) + 1);
    }
    return out;
  }

  explain(limit = 20): LearnerExplanation {
    const topPriors = [...this.priors.entries()]
      .map(([path, p]) => ({ path, prior: this.prior(path), ...p }))
      .sort((a, b) => b.prior - a.prior)
      .slice(0, limit);
    return {
      project: this.root,
      weights: this.currentWeights(),
      defaultWeights: { ...this.initialWeights },
      topPriors,
      questions: this.memories.length,
      feedbackEvents: this.feedbackEvents,
    };
  }

  async reset(): Promise<void> {
    const start = `${this.root}\u0000`;
    const keys: string[] = [];
    for (const key of this.db().getKeys({ start, end: `${start}\uffff` })) keys.push(String(key));
    await this.store.transaction(() => {
      for (const k of keys) void this.db().remove(k);
    });
    this.weights = { ...this.initialWeights };
    this.priors.clear();
    this.memories = [];
    this.pending.length = 0;
    this.feedbackEvents = 0;
    this.seq = 0;
  }
}

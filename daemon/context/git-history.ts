import { spawn } from 'node:child_process';

export interface Commit {
  hash: string;
  /** Seconds since the epoch (committer date). */
  time: number;
  files: string[];
}

/** What is kept of a project's history: the newest commits, newest first. */
export interface HistoryRecord {
  head: string;
  commits: Commit[];
}

/** History beyond this is not read: old changes say little about what a question needs today. */
export const MAX_COMMITS = 5000;
/** Commits touching more files than this (mass renames, formatting) say nothing about pairs. */
const MAX_COCHANGE_FILES = 30;
const DAY = 86_400;
/** How many of the most changed files are candidates for every question. */
const HOTTEST = 30;
/** Change frequency decays with this half-life. */
const HALF_LIFE_DAYS = 30;

/**
 * Runs git and collects its stdout; rejects with its stderr on failure. Asynchronous, so it never
 * blocks the event loop; `signal` kills it (a long `git log` does not hold shutdown up).
 */
export function runGit(git: string, cwd: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(git, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`git ${args[0]} failed (${code}): ${Buffer.concat(err).toString('utf8').trim()}`)),
    );
  });
}

export function parseLog(text: string): Commit[] {
  const commits: Commit[] = [];
  for (const chunk of text.split('\u0000')) {
    const lines = chunk.split('\n').filter((l) => l.length > 0);
    if (lines.length === 0) continue;
    const [hash, time] = lines[0].split('\t');
    commits.push({ hash, time: Number(time), files: lines.slice(1) });
  }
  return commits;
}

/**
 * Reads the commits since `previous.head` (all of them, up to MAX_COMMITS, when there is no
 * previous record or it is no longer an ancestor of HEAD, e.g. after a rebase). Returns undefined
 * when `root` is not a git work tree or has no commits.
 */
export async function readHistory(git: string, root: string, previous?: HistoryRecord, signal?: AbortSignal): Promise<HistoryRecord | undefined> {
  let head: string;
  try {
    head = (await runGit(git, root, ['rev-parse', 'HEAD'], signal)).trim();
  } catch {
    return undefined;
  }
  if (previous?.head === head) return previous;
  const format = ['log', '--no-merges', '--no-renames', '--name-only', '--format=%x00%H%x09%ct', `-n${MAX_COMMITS}`];
  if (previous) {
    try {
      const fresh = parseLog(await runGit(git, root, [...format, `${previous.head}..${head}`, '--'], signal));
      const isAncestor = await runGit(git, root, ['merge-base', '--is-ancestor', previous.head, head], signal).then(
        () => true,
        () => false,
      );
      if (isAncestor) return { head, commits: [...fresh, ...previous.commits].slice(0, MAX_COMMITS) };
    } catch {
      // The old head is gone (gc after a rebase): read it all again below.
    }
  }
  return { head, commits: parseLog(await runGit(git, root, [...format, head, '--'], signal)) };
}

/** Per-file change statistics and co-change pairs derived from a history. */
export class HistoryStats {
  /** Recency-weighted number of changes (each change counts 2^(-age/30 days)). */
  readonly weighted = new Map<string, number>();
  /** Changes in the last 30 days, for reasons. */
  readonly recent = new Map<string, number>();
  readonly total = new Map<string, number>();
  /** file → partner → strength (each commit of n files adds 1/(n-1) to each pair). */
  readonly pairs = new Map<string, Map<string, number>>();
  maxWeighted = 0;
  /** The most changed files lately, most first. */
  readonly hottest: string[];

  constructor(history: HistoryRecord | undefined, nowSeconds: number) {
    for (const c of history?.commits ?? []) {
      const age = Math.max(0, nowSeconds - c.time) / DAY;
      const w = Math.pow(2, -age / HALF_LIFE_DAYS);
      for (const f of c.files) {
        const v = (this.weighted.get(f) ?? 0) + w;
        this.weighted.set(f, v);
        if (v > this.maxWeighted) this.maxWeighted = v;
        this.total.set(f, (this.total.get(f) ?? 0) + 1);
        if (age <= 30) this.recent.set(f, (this.recent.get(f) ?? 0) + 1);
      }
      const n = c.files.length;
      if (n < 2 || n > MAX_COCHANGE_FILES) continue;
      const share = 1 / (n - 1);
      for (const a of c.files) {
        let m = this.pairs.get(a);
        if (!m) this.pairs.set(a, (m = new Map<string, number>()));
        for (const b of c.files) if (a !== b) m.set(b, (m.get(b) ?? 0) + share);
      }
    }
    this.hottest = [...this.weighted.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, HOTTEST)
      .map(([f]) => f);
  }

  /** Partners of `file` by co-change strength relative to how often `file` changed (0..1). */
  partners(file: string): Array<{ path: string; strength: number; together: number }> {
    const m = this.pairs.get(file);
    if (!m) return [];
    const own = this.total.get(file) ?? 1;
    return [...m.entries()].map(([p, s]) => ({ path: p, strength: Math.min(1, s / own), together: s })).sort((a, b) => b.strength - a.strength);
  }
}

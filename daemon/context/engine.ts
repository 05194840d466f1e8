/**
 * The context engine: which files of a project a question needs, and the block of context to send
 * with it. This is the room's facade; the daemon wiring (RPC handlers, `aic context`, `aic ask`)
 * uses only what is exported here.
 *
 *   const engine = new ContextEngine({ store, log, now, idleUnwatchMs, git, watch, feedbackWindowMs, home });
 *   const project = engine.project(cwd, { allowBroad, limits });  // git root above cwd (or cwd); never waits for indexing
 *                                              // throws BroadProjectError for /, $HOME and above unless allowBroad
 *   project.progress() / onProgress(l) / ready()   progress().partial: the walk stopped at a limit
 *   await project.rank(question, { limit, openFile, mentioned, excluded })   → RankedFile[]
 *   await project.assemble(question, { tokenBudget, openFile, mentioned, excluded }) → AssembledContext
 *                                              // .notAttached: files named by hand not sent, and why
 *   await project.suggestFor(file, limit)     → RankedFile[] (co-change, co-access, imports)
 *   await project.recordAnswer({ query, attached, answer, mentioned, removed })   learner feedback
 *   await project.explain() / resetLearning()
 *   project.counters()                         how files were (re)indexed: parsed, hashed, unchanged…
 *   project.watching() / watchReady() / files()
 *   await engine.compact()                     deletes parsed facts no file references (run now and then)
 *   await engine.close()
 *
 * Scores are 0..1 (a weighted mean of signals each normalised over the query's candidates); token
 * counts are estimates at 4 characters per token. Paths in and out are relative to the project
 * root with '/' separators (absolute paths inside the root are accepted as input too).
 *
 * Links: the index never follows one (the walk, the watcher and every read open files without
 * following links); a file named by hand is taken by its real path, which must be inside the
 * project and not a credentials file. Limits (IndexLimits: files, directories, bytes) bound a
 * walk, and close() stops one at its next file.
 *
 * Beyond the first sketch of this facade: `excluded` on rank(), counters(), watching(),
 * watchReady(), files(), engine.compact() and engine.rootOf(), and the options git, watch,
 * feedbackWindowMs and weights. ready() rejects if the initial index fails (progress() then says
 * 'error' with the message).
 *
 * Storage: lmdb databases ctx-files (content hash → parsed facts), ctx-projects (root + path →
 * hash, size, mtime), ctx-git (root → recent commits) and ctx-learner (root + … → weights, priors,
 * question memories).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import type { Store } from '../store/store';
import type { ContextBundle, Attachment } from './assembler';
import { BroadProjectError, broadProjectReason } from './broad-projects';
import { DEFAULT_LIMITS, type IndexLimits } from './indexer';
import type { LearnerExplanation } from './learner';
import { ASSEMBLY_CANDIDATES, Project, type AssembledContext, type IndexProgress, type NotAttached } from './project';

export { ASSEMBLY_CANDIDATES, BroadProjectError, DEFAULT_LIMITS };
import type { RankedFile } from './ranker';
import { DEFAULT_WEIGHTS, type Weights } from './signals';
import { SymbolExtractor } from './symbols';

export type { AssembledContext, Attachment, ContextBundle, IndexLimits, IndexProgress, LearnerExplanation, NotAttached, RankedFile };
export type { IndexCounters } from './indexer';

export interface ContextEngineOptions {
  store: Store;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  now?: () => number;
  /** A project unused this long stops being watched; its index is kept and caught up on next use. Default 30 minutes. */
  idleUnwatchMs?: number;
  /** The git binary. Default 'git'. */
  git?: string;
  /** Watch projects for changes (default true); off for one-shot uses such as evaluations. */
  watch?: boolean;
  /** Edits this long after an answer credit it; a question this soon after another is its follow-up. Default 10 minutes. */
  feedbackWindowMs?: number;
  /** Signal weights before any learning (missing ones from DEFAULT_WEIGHTS); for tuning and evaluation. */
  weights?: Partial<Weights>;
  /** The user's home directory, which (like / and the directories above it) is no project. Default os.homedir(). */
  home?: string;
}

export interface OpenOptions {
  /** Index the directory even when it is /, the home directory or above it (the user said so). */
  allowBroad?: boolean;
  /** The limits of this project's walks from now on. Default DEFAULT_LIMITS. */
  limits?: IndexLimits;
}

export interface ContextProject {
  readonly root: string;
  progress(): IndexProgress;
  onProgress(listener: (p: IndexProgress) => void): () => void;
  /** Resolves when the initial index is complete. */
  ready(): Promise<void>;
  rank(query: string, opts?: { limit?: number; openFile?: string; mentioned?: string[]; excluded?: string[] }): Promise<RankedFile[]>;
  /** `ranked`: this query's ranking from rank() with the same options, so it is not ranked twice. */
  assemble(
    query: string,
    opts: { tokenBudget: number; openFile?: string; mentioned?: string[]; excluded?: string[]; ranked?: RankedFile[] },
  ): Promise<AssembledContext>;
  /** Files likely needed next (co-change, co-access, imports). */
  suggestFor(file: string, limit?: number): Promise<RankedFile[]>;
  /**
   * After an answer: learner feedback. The engine finds which attached files the answer refers to
   * (paths, file names, identifiers defined there) and credits files the watcher sees edited
   * within `feedbackWindowMs` after.
   */
  recordAnswer(a: { query: string; attached: string[]; answer: string; mentioned?: string[]; removed?: string[] }): Promise<void>;
  /** Signal weights, top file priors, remembered questions count. */
  explain(): Promise<LearnerExplanation>;
  resetLearning(): Promise<void>;
  /** How files were brought up to date since the project was opened: parsed, hashed, unchanged, skipped, removed. */
  counters(): import('./indexer').IndexCounters;
  /** Whether the project is watched now (false after the idle timeout, until next use). */
  watching(): boolean;
  /** Resolves when the watcher's initial scan is done: every save after it is seen. */
  watchReady(): Promise<void>;
  /** The indexed paths (relative, posix). */
  files(): string[];
}

const MINUTE = 60_000;

export class ContextEngine {
  private readonly open = new Map<string, Project>();
  private readonly extractor: SymbolExtractor;
  private readonly log: NonNullable<ContextEngineOptions['log']>;

  constructor(private readonly options: ContextEngineOptions) {
    this.log = options.log ?? (() => undefined);
    this.extractor = new SymbolExtractor((msg) => this.log('warn', msg));
  }

  /** The git root above `dir` (the nearest directory holding `.git`, a directory or a worktree's file), or `dir` itself outside git. */
  rootOf(dir: string): string {
    const abs = fs.realpathSync(path.resolve(dir));
    for (let d = abs; ; d = path.dirname(d)) {
      if (fs.existsSync(path.join(d, '.git'))) return d;
      if (path.dirname(d) === d) return abs;
    }
  }

  /** The project of `dir`; throws BroadProjectError for a directory too broad to index, unless `allowBroad`. */
  project(dir: string, opts: OpenOptions = {}): ContextProject {
    const root = this.rootOf(dir);
    const why = opts.allowBroad ? undefined : broadProjectReason(root, this.options.home ?? os.homedir());
    if (why) throw new BroadProjectError(root, why);
    const limits = opts.limits ?? DEFAULT_LIMITS;
    let p = this.open.get(root);
    if (!p) {
      p = new Project(
        root,
        {
          store: this.options.store,
          extractor: this.extractor,
          log: this.log,
          now: this.options.now ?? Date.now,
          git: this.options.git ?? 'git',
          watch: this.options.watch ?? true,
          idleUnwatchMs: this.options.idleUnwatchMs ?? 30 * MINUTE,
          feedbackWindowMs: this.options.feedbackWindowMs ?? 10 * MINUTE,
          weights: { ...DEFAULT_WEIGHTS, ...this.options.weights },
        },
        limits,
      );
      this.open.set(root, p);
    } else {
      p.setLimits(limits);
      p.touch();
    }
    return p;
  }

  projects(): ContextProject[] {
    return [...this.open.values()];
  }

  /**
   * Deletes parsed facts that no project's file references any more (old versions of edited
   * files, files of forgotten projects). Every edit leaves one behind, so the daemon runs this
   * now and then (e.g. daily); returns how many were deleted. Facts written by an index update
   * still in flight may go too: that file is then parsed again at the next restart, nothing worse.
   */
  async compact(): Promise<number> {
    const store = this.options.store;
    const referenced = new Set<string>();
    for (const { value } of store.db<{ hash: string }>('ctx-projects').getRange()) referenced.add(value.hash);
    const stale: string[] = [];
    for (const key of store.db('ctx-files').getKeys()) if (!referenced.has(String(key))) stale.push(String(key));
    await store.transaction(() => {
      for (const key of stale) void store.db('ctx-files').remove(key);
    });
    return stale.length;
  }

  /** Stops watchers and waits for pending index writes. The store is the caller's to close. */
  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}

import { estimateTokensOfLength } from '../tokens/count';
import type { ContextIndexProgress } from '../../protocol/context';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Store } from '../store/store';
import { assemble, type ContextBundle } from './assembler';
import { FileFilter } from './file-filter';
import { FileIndex } from './file-index';
import { HistoryStats, readHistory, type HistoryRecord } from './git-history';
import { ImportGraph } from './import-graph';
import { Indexer, type IndexCounters, type IndexLimits, type LimitHit } from './indexer';
import { describeRefusal, isRefusal, readTextInProject, relativeInside, resolveInProject, type RefusedFile } from './inside-project';
import { Learner, type LearnerExplanation } from './learner';
import { rankFiles, type RankedFile } from './ranker';
import type { SignalVector, Weights } from './signals';
import type { SymbolExtractor } from './symbols';
import { identifiersOf } from './tokens';

/** One definition, the protocol's: aid/context and its progress notifications carry it as is. */
export type IndexProgress = ContextIndexProgress;

/** A file named by hand (`@path`, `/context add`) that was not sent, and why (never its content). */
export interface NotAttached {
  /** As the user named it. */
  path: string;
  reason: string;
}

/** An assembled context, and the files named by hand that are not in it. */
export interface AssembledContext extends ContextBundle {
  notAttached: NotAttached[];
}

export interface ProjectSeams {
  store: Store;
  extractor: SymbolExtractor;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  now: () => number;
  git: string;
  watch: boolean;
  idleUnwatchMs: number;
  feedbackWindowMs: number;
  weights: Weights;
}

/** Answers are checked against definitions this long or longer: shorter names match by chance. */
const MIN_IDENT = 4;
/** Signals of recent queries, kept for the learner until their answer comes back. */
const MAX_REMEMBERED_QUERIES = 20;
/** How many of the ranked files assembly chooses from. */
export const ASSEMBLY_CANDIDATES = 40;
/** Files scoring below this, or below this share of the best file's score, are not attached. */
const MIN_ATTACH_SCORE = 0.1;
const RELATIVE_ATTACH_SCORE = 0.3;
/** After the last directory was handed to the watcher, how long until its watch is surely live. */
const WATCH_SETTLE_MS = 1500;
/** Queries wait for this many queued file updates at most (see settled()). */
const MAX_WAIT_FOR_UPDATES = 64;
/** Directories are added to the watcher in steps of about this many files, STEP_MS apart. */
const FILES_PER_STEP = 150;
const STEP_MS = 15;
/**
 * How long close() waits for work in flight after aborting it. Every loop stops at its next file,
 * so this is only reached by a read stuck in the kernel (a hung network mount): shutdown goes on.
 */
const CLOSE_WAIT_MS = 2000;

/** What the user reads when a walk stopped at a limit. */
export function partialMessage(root: string, hit: LimitHit): string {
  const what = hit.what === 'bytes' ? `${formatBytes(hit.at)} of files` : `${hit.at.toLocaleString('en-US')} ${hit.what}`;
  return (
    `the index of ${root} is partial: indexing ` +
    `stopped at ${what} (context.${hit.limit}); leave directories out with .gitignore, or raise context.${hit.limit} in the config`
  );
}

function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n >= size) return `${+(n / size).toFixed(1)} ${unit}`;
  return `${n} bytes`;
}

/**
 * One project: its index (restored from lmdb, then brought up to date in the background), one
 * chokidar watcher shared by every client, its git history, and its learner.
 */
export class Project {
  readonly index = new FileIndex();
  private readonly filter: FileFilter;
  private readonly indexer: Indexer;
  readonly learner: Learner;
  private state: IndexProgress = { state: 'indexing', filesDone: 0, filesTotal: 0 };
  private readonly listeners = new Set<(p: IndexProgress) => void>();
  private readonly initial: Promise<void>;
  private watcher: FSWatcher | undefined;
  private watcherReady: Promise<void> = Promise.resolve();
  private lastUsed: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private history: HistoryRecord | undefined;
  private stats: HistoryStats;
  private graph: { version: number; graph: ImportGraph } | undefined;
  private readonly querySignals = new Map<string, Map<string, SignalVector>>();
  /** Watcher events are applied one at a time, in order. */
  private updates: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Aborted by close(): the walk, the parse, file updates and git stop at their next step. */
  private readonly stopping = new AbortController();

  constructor(
    readonly root: string,
    private readonly seams: ProjectSeams,
    limits: IndexLimits,
  ) {
    this.filter = new FileFilter(root);
    this.indexer = new Indexer(seams.store, root, this.filter, seams.extractor, this.index, this.stopping.signal);
    this.indexer.limits = limits;
    this.learner = new Learner(seams.store, root, seams.now, seams.feedbackWindowMs, seams.weights);
    this.history = seams.store.db<HistoryRecord>('ctx-git').get(root);
    this.stats = new HistoryStats(this.history, seams.now() / 1000);
    this.lastUsed = seams.now();
    this.initial = this.start();
    // The promise is kept for ready(); failures are reported through progress, not thrown here.
    this.initial.catch(() => undefined);
  }

  private async start(): Promise<void> {
    try {
      await this.seams.extractor.init();
      await this.indexer.restore();
      await this.indexer.indexAll((done, total) => this.report({ state: 'indexing', filesDone: done, filesTotal: total }));
      if (this.closed) return;
      await this.refreshHistory();
      if (this.closed) return;
      this.reportReady();
      // Watching starts after the walk, which told it the directories; what was saved during the
      // walk is caught by the stat-only pass that ends startWatcher's setup.
      if (this.seams.watch && !this.closed) this.startWatcher();
    } catch (error) {
      this.report({ state: 'error', filesDone: this.state.filesDone, filesTotal: this.state.filesTotal, message: String(error) });
      throw error;
    }
  }

  /** Ready, and whether the index is partial (the last walk stopped at a limit). */
  private reportReady(): void {
    const hit = this.indexer.limitHit;
    if (hit) this.seams.log('warn', `context: ${partialMessage(this.root, hit)}`);
    this.report({ state: 'ready', filesDone: this.index.size, filesTotal: this.index.size, ...(hit ? { partial: partialMessage(this.root, hit) } : {}) });
  }

  /** The limits of the configuration of the latest use; changed ones are applied by a walk now, not at the next restart. */
  setLimits(limits: IndexLimits): void {
    const before = this.indexer.limits;
    this.indexer.limits = limits;
    if ((before.maxFiles !== limits.maxFiles || before.maxBytes !== limits.maxBytes) && this.state.state !== 'indexing') void this.rescan(false);
  }

  private report(p: IndexProgress): void {
    this.state = p;
    for (const l of this.listeners) {
      try {
        l(p);
      } catch (error) {
        // A client's listener failing must not stop the indexing.
        this.seams.log('warn', `context progress listener for ${this.root}: ${String(error)}`);
      }
    }
  }

  progress(): IndexProgress {
    return { ...this.state };
  }

  onProgress(listener: (p: IndexProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ready(): Promise<void> {
    return this.initial;
  }

  /** How files were brought up to date since this project was opened (for tests and diagnostics). */
  counters(): IndexCounters {
    return { ...this.indexer.counters };
  }

  files(): string[] {
    return this.index.paths();
  }

  watching(): boolean {
    return this.watcher !== undefined;
  }

  /** Resolves when the watcher has finished its initial scan (events after this are seen). */
  async watchReady(): Promise<void> {
    await this.watcherReady;
  }

  /** Marks the project used; re-watches it (catching up on changes made meanwhile) if it was idle. */
  touch(): void {
    this.lastUsed = this.seams.now();
    if (!this.watcher && this.seams.watch && !this.closed && this.state.state !== 'indexing') this.startWatcher();
  }

  private startWatcher(): void {
    const gitLog = path.join(this.root, '.git', 'logs', 'HEAD');
    const targets = [this.root, ...(fs.existsSync(gitLog) ? [gitLog] : [])];
    const watcher = watch(targets, {
      ignoreInitial: true,
      // Each directory is added on its own (watchDirectories): chokidar scanning a whole tree at
      // once kept the event loop busy for 100+ ms at a time on 10,000 files.
      depth: 0,
      persistent: true,
      // A link is reported as a file and never followed: the indexer leaves links out.
      followSymlinks: false,
      // No awaitWriteFinish: its polling would delay every save by more than the 300 ms we promise.
      ignored: (abs: string, stats?: fs.Stats) => {
        if (abs === gitLog) return false;
        const rel = this.rel(abs);
        if (rel === undefined) return true;
        if (stats) return this.filter.ignored(rel, stats.isDirectory());
        // chokidar asks once without stats; leave out only what is out as a file and as a directory.
        return this.filter.ignored(rel, false) && this.filter.ignored(rel, true);
      },
    });
    this.watcher = watcher;
    this.watcherReady = new Promise<void>((resolve) => watcher.once('ready', () => resolve())).then(() => this.watchDirectories(watcher));
    const onFile = (abs: string): void => {
      if (abs === gitLog) {
        this.enqueue(() => this.refreshHistory());
        return;
      }
      const rel = this.rel(abs);
      if (rel === undefined) return;
      if (path.posix.basename(rel) === '.gitignore') {
        this.filter.loadGitignore(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel));
        void this.rescan(false);
        return;
      }
      this.enqueue(async () => {
        const outcome = await this.indexer.update(rel);
        if (outcome === 'parsed' || outcome === 'hashed') await this.learner.edited(rel);
      });
    };
    watcher.on('add', onFile).on('change', onFile).on('unlink', onFile);
    watcher.on('unlinkDir', () => void this.rescan(false));
    // A new directory: watch it, and index what is already in it (a `mkdir -p` and its files).
    watcher.on('addDir', (abs: string) => {
      if (abs === this.root) return;
      watcher.add(abs);
      void this.rescan(false);
    });
    watcher.on('error', (e) => this.seams.log('warn', `context watcher for ${this.root}: ${String(e)}`));
    this.idleTimer ??= setInterval(() => this.checkIdle(), Math.max(50, Math.min(60_000, this.seams.idleUnwatchMs / 4)));
    this.idleTimer.unref();
  }

  /**
   * Adds the project's directories to the watcher a few at a time (about FILES_PER_STEP files per
   * event-loop turn), then runs one stat-only pass for whatever changed before each watch began.
   */
  private async watchDirectories(watcher: FSWatcher): Promise<void> {
    let batch: string[] = [];
    let files = 0;
    for (const [dir, count] of this.indexer.directories) {
      if (dir === '') continue;
      batch.push(path.join(this.root, dir));
      files += count + 1;
      if (files < FILES_PER_STEP) continue;
      if (this.watcher !== watcher) return;
      watcher.add(batch);
      batch = [];
      files = 0;
      await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    }
    if (this.watcher !== watcher) return;
    if (batch.length) watcher.add(batch);
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    await this.rescan(true);
    // chokidar's add() returns before the directory's watch is live, and on a busy machine that
    // can take longer than the pass above: a save in between would be missed until the next
    // edit of that file. A second stat-only pass, once the watches are surely up, closes the gap.
    await new Promise((resolve) => setTimeout(resolve, WATCH_SETTLE_MS).unref());
    if (this.watcher === watcher) await this.rescan(false);
  }

  private checkIdle(): void {
    if (this.watcher && this.seams.now() - this.lastUsed > this.seams.idleUnwatchMs) {
      this.seams.log('info', `context: ${this.root} idle, unwatched (its index is kept)`);
      void this.stopWatcher();
    }
  }

  private async stopWatcher(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.close();
  }

  private rel(abs: string): string | undefined {
    return relativeInside(this.root, abs);
  }

  /**
   * A full walk (stat-only for unchanged files) after a .gitignore change, a removed directory or
   * an idle spell. It runs beside the queue of single-file updates rather than in it, so queries,
   * which wait for that queue, never wait for a walk.
   */
  private rescan(withHistory: boolean): Promise<unknown> {
    this.walks = this.walks
      .then(async () => {
        if (this.closed) return;
        const wasPartial = this.state.partial;
        await this.indexer.indexAll(() => undefined);
        if (withHistory) await this.refreshHistory();
        if (!this.closed && this.state.state === 'ready' && (wasPartial !== undefined || this.indexer.limitHit)) this.reportReady();
      })
      .catch((e: unknown) => this.seams.log('warn', `context rescan of ${this.root}: ${String(e)}`));
    return this.walks;
  }
  private walks: Promise<unknown> = Promise.resolve();

  private enqueue(task: () => Promise<unknown>): void {
    if (this.closed) return;
    this.pending++;
    this.updates = this.updates
      .then(task)
      .catch((e: unknown) => this.seams.log('warn', `context update in ${this.root}: ${String(e)}`))
      .finally(() => this.pending--);
  }
  private pending = 0;

  /**
   * Waits until every watcher event received so far is in the index, so a query sees the file
   * just saved. After a mass change (a checkout, a formatter run) it does not wait: an answer on a
   * slightly stale index beats one seconds late.
   */
  async settled(): Promise<void> {
    if (this.pending <= MAX_WAIT_FOR_UPDATES) await this.updates;
  }

  private async refreshHistory(): Promise<void> {
    const next = await readHistory(this.seams.git, this.root, this.history, this.stopping.signal).catch(() => undefined);
    if (!next || next === this.history || this.closed) return;
    this.history = next;
    this.stats = new HistoryStats(next, this.seams.now() / 1000);
    await this.seams.store.db<HistoryRecord>('ctx-git').put(this.root, next);
  }

  private importGraph(): ImportGraph {
    if (!this.graph || this.graph.version !== this.index.structureVersion)
      this.graph = { version: this.index.structureVersion, graph: new ImportGraph(this.index) };
    return this.graph.graph;
  }

  /**
   * A path as the index knows it: relative to the root, through links that stay inside. A path
   * that leads out, or to a credentials file, is kept as given: it matches nothing in the index.
   */
  private normalise(p: string): string {
    const checked = resolveInProject(this.root, p);
    if (!isRefusal(checked)) return checked.rel;
    return this.rel(path.resolve(this.root, p)) ?? p;
  }

  async rank(query: string, opts: { limit?: number; openFile?: string; mentioned?: string[]; excluded?: string[] } = {}): Promise<RankedFile[]> {
    this.touch();
    await this.settled();
    const out = rankFiles({
      index: this.index,
      graph: this.importGraph(),
      history: this.stats,
      learner: this.learner,
      query,
      openFile: opts.openFile && this.normalise(opts.openFile),
      mentioned: opts.mentioned?.map((m) => this.normalise(m)),
      excluded: opts.excluded?.map((m) => this.normalise(m)),
      limit: opts.limit ?? 20,
    });
    this.querySignals.delete(query);
    this.querySignals.set(query, out.signals);
    while (this.querySignals.size > MAX_REMEMBERED_QUERIES) this.querySignals.delete(this.querySignals.keys().next().value as string);
    return out.files;
  }

  /**
   * `ranked`: this query's ranking (same open, mentioned and excluded files) when the caller has
   * it already, so the files are not ranked twice; its first ASSEMBLY_CANDIDATES are used.
   * Files named by hand that are not sent are listed in `notAttached` with why.
   */
  async assemble(
    query: string,
    opts: { tokenBudget: number; openFile?: string; mentioned?: string[]; excluded?: string[]; ranked?: RankedFile[] },
  ): Promise<AssembledContext> {
    const ranked = opts.ranked?.slice(0, ASSEMBLY_CANDIDATES) ?? (await this.rank(query, { ...opts, limit: ASSEMBLY_CANDIDATES }));
    const notAttached: NotAttached[] = [];
    // A file named by hand is taken by where it really leads: never outside the project, never a
    // credentials file, whether named directly or through a link.
    const wanted: { name: string; rel: string }[] = [];
    for (const name of opts.mentioned ?? []) {
      const checked = resolveInProject(this.root, name);
      if (isRefusal(checked)) notAttached.push({ path: name, reason: describeRefusal(checked) });
      else if (!wanted.some((w) => w.rel === checked.rel)) wanted.push({ name, rel: checked.rel });
    }
    const mentioned = wanted.map((w) => w.rel);
    // Mentioned files go first, whatever their score: the user asked for them, even for a file
    // the index leaves out (ignored, generated), as long as it can be read.
    const first = mentioned.map((p) => ranked.find((f) => f.path === p) ?? { path: p, score: 1, reasons: ['mentioned in the question'], tokens: 0 });
    // Tokens cost money on every question: files far below the best match are not worth sending,
    // and a question that matches nothing well ("thanks!") gets no context.
    const bar = Math.max(MIN_ATTACH_SCORE, RELATIVE_ATTACH_SCORE * (ranked.find((f) => !mentioned.includes(f.path))?.score ?? 0));
    const ordered = [...first, ...ranked.filter((f) => !mentioned.includes(f.path) && f.score >= bar)];
    const refusedOnRead = new Map<string, RefusedFile>();
    const read = (rel: string): string | undefined => {
      const r = this.read(rel);
      if (!isRefusal(r)) return r.text;
      refusedOnRead.set(rel, r);
      return undefined;
    };
    const bundle = assemble({ project: path.basename(this.root), query, ranked: ordered, index: this.index, tokenBudget: opts.tokenBudget, read });
    for (const w of wanted) {
      if (bundle.files.some((f) => f.path === w.rel)) continue;
      const refused = refusedOnRead.get(w.rel);
      notAttached.push({ path: w.name, reason: refused ? describeRefusal(refused) : `no room in the ${opts.tokenBudget}-token budget` });
    }
    return { ...bundle, notAttached };
  }

  /**
   * A file's text for the context: inside the project by its real path, never a credentials file,
   * never read through a link out, and not one the index would refuse for its size or binary
   * content (a file named by hand is read here even when the index leaves it out, so every check
   * is made again).
   */
  private read(rel: string): { text: string } | RefusedFile {
    const checked = resolveInProject(this.root, rel);
    return isRefusal(checked) ? checked : readTextInProject(this.root, checked.abs);
  }

  /** Files likely needed next with `file`: its co-change partners, files co-accessed with it in past answers, its imports. */
  async suggestFor(file: string, limit = 10): Promise<RankedFile[]> {
    this.touch();
    await this.settled();
    const rel = this.normalise(file);
    const scores = new Map<string, { score: number; reasons: string[] }>();
    const add = (p: string, s: number, reason: string): void => {
      if (p === rel || !this.index.get(p)) return;
      const cur = scores.get(p) ?? { score: 0, reasons: [] };
      cur.score += s;
      cur.reasons.push(reason);
      scores.set(p, cur);
    };
    for (const partner of this.stats.partners(rel).slice(0, 50))
      add(partner.path, partner.strength, `co-changes with ${rel} (${Math.round(partner.together)}×)`);
    for (const [p, n] of this.learner.coAccessed(rel)) add(p, Math.min(1, n / 3), `helped together with ${rel} in ${n} past answer${n > 1 ? 's' : ''}`);
    const graph = this.importGraph();
    for (const p of graph.imports.get(rel) ?? []) add(p, 0.2, `imported by ${rel}`);
    for (const p of graph.importers.get(rel) ?? []) add(p, 0.1, `imports ${rel}`);
    const max = Math.max(1e-9, ...[...scores.values()].map((s) => s.score));
    return [...scores.entries()]
      .map(([p, s]) => ({ path: p, score: s.score / max, reasons: s.reasons, tokens: estimateTokensOfLength(this.index.get(p)?.facts.chars ?? 0) }))
      .sort((a, b) => b.score - a.score || a.path.localeCompare(b.path))
      .slice(0, limit);
  }

  async recordAnswer(a: { query: string; attached: string[]; answer: string; mentioned?: string[]; removed?: string[] }): Promise<void> {
    this.touch();
    const attached = a.attached.map((p) => this.normalise(p));
    const mentioned = (a.mentioned ?? []).map((p) => this.normalise(p));
    const referenced = attached.filter((p) => this.referencedBy(p, a.answer));
    let signals = this.querySignals.get(a.query);
    if (!signals) {
      await this.rank(a.query, { limit: 1 });
      signals = this.querySignals.get(a.query) ?? new Map<string, SignalVector>();
    }
    await this.learner.record({
      query: a.query,
      attached,
      helpful: [...new Set([...referenced, ...mentioned])],
      removed: (a.removed ?? []).map((p) => this.normalise(p)),
      signals,
    });
  }

  /** An answer refers to a file by its path, its file name, or an identifier the file defines. */
  private referencedBy(rel: string, answer: string): boolean {
    if (answer.includes(rel) || answer.includes(path.posix.basename(rel))) return true;
    const idents = identifiersOf(answer);
    return (this.index.get(rel)?.facts.defs ?? []).some((d) => d.name.length >= MIN_IDENT && idents.has(d.name));
  }

  explain(): Promise<LearnerExplanation> {
    return Promise.resolve(this.learner.explain());
  }

  resetLearning(): Promise<void> {
    return this.learner.reset();
  }

  /**
   * Stops promptly whatever is running: the walk, the parse and file updates stop at their next
   * file, git is killed, the watcher closes; then waits for them (at most CLOSE_WAIT_MS).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    if (this.idleTimer) clearInterval(this.idleTimer);
    let timer: NodeJS.Timeout | undefined;
    const settledWork = Promise.all([this.stopWatcher(), this.initial.catch(() => undefined), this.walks, this.updates]);
    await Promise.race([settledWork, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }
}

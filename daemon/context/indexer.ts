import type { ContextIndexCounters } from '../../protocol/context';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Store } from '../store/store';
import { FACTS_VERSION, type FileFacts, type FileIndex } from './file-index';
import { looksIndexable, MAX_FILE_BYTES, type FileFilter } from './file-filter';
import { readFileInProject } from './inside-project';
import type { SymbolExtractor } from './symbols';
import { termCounts } from './tokens';

/** What the index remembers of a path between runs, to skip files whose size and mtime did not change. */
interface PathRow {
  hash: string;
  size: number;
  mtimeMs: number;
}

/** How each file was brought up to date (the protocol's type); `parsed` is the expensive case a restart should avoid. */
export type IndexCounters = ContextIndexCounters;

export type Outcome = keyof IndexCounters;

/**
 * How much of a project is indexed at most. A tree past these (a home directory, a mounted disk,
 * a data folder) is indexed partially: what was indexed is kept, and the index says why it stopped.
 */
export interface IndexLimits {
  /** The most files indexed, and the most directories walked (each is also a watch). */
  maxFiles: number;
  /** The most bytes of files indexed (the sum of their sizes: what a cold index reads). */
  maxBytes: number;
}

export const DEFAULT_LIMITS: IndexLimits = { maxFiles: 50_000, maxBytes: 1024 ** 3 };

/** Which limit stopped the last walk, and at what. */
export interface LimitHit {
  limit: 'maxFiles' | 'maxBytes';
  /** What was counted when it stopped. */
  what: 'files' | 'directories' | 'bytes';
  at: number;
}

/** Work done before yielding to the event loop, so other requests stay responsive. */
const SLICE_MS = 12;
const READ_BATCH = 32;
/** Directory entries read from the system at once: a directory of a million entries is never held whole. */
const DIR_BUFFER = 256;

/** A regular file (not a link, a FIFO or a device) small enough to index. */
function indexable(stat: fs.Stats | undefined): stat is fs.Stats {
  return stat !== undefined && stat.isFile() && stat.size <= MAX_FILE_BYTES;
}

export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Keeps a project's FileIndex in step with its files and persisted in lmdb: `ctx-projects` maps
 * root + path to {hash, size, mtime}; `ctx-files` maps a content hash to its FileFacts. A file is
 * stat'ed first, read and hashed only when its size or mtime changed, and parsed only when its
 * hash is new.
 */
export class Indexer {
  readonly counters: IndexCounters = { parsed: 0, hashed: 0, unchanged: 0, skipped: 0, removed: 0 };
  private rows = new Map<string, PathRow>();
  /** The sum of the sizes in `rows`, against limits.maxBytes. */
  private bytes = 0;
  /** Whether restore() left stored rows out (more than limits.maxFiles): the next full walk deletes them from lmdb. */
  private restoreCut = false;
  /** Paths a watcher update touched while a walk ran: the walk's list may predate them. */
  private readonly touchedDuringWalk = new Set<string>();
  private walking = 0;
  /** Set by the project from the configuration; applies from the next walk or update. */
  limits: IndexLimits = DEFAULT_LIMITS;
  /** Why the last full walk stopped short, if it did. */
  limitHit: LimitHit | undefined;

  /** `signal`: aborted when the project closes; a walk, a restore or an update stops at the next file. */
  constructor(
    private readonly store: Store,
    private readonly root: string,
    private readonly filter: FileFilter,
    private readonly extractor: SymbolExtractor,
    private readonly index: FileIndex,
    private readonly signal: AbortSignal,
  ) {}

  private setRow(rel: string, row: PathRow): void {
    this.bytes += row.size - (this.rows.get(rel)?.size ?? 0);
    this.rows.set(rel, row);
  }

  private deleteRow(rel: string): boolean {
    const row = this.rows.get(rel);
    if (!row) return false;
    this.bytes -= row.size;
    return this.rows.delete(rel);
  }

  private rowKey(rel: string): string {
    return `${this.root}\u0000${rel}`;
  }

  /** Loads the stored rows and their facts into the index, so queries work before the first walk ends. */
  async restore(): Promise<void> {
    const start = `${this.root}\u0000`;
    const files = this.store.db<FileFacts>('ctx-files');
    let started = performance.now();
    for (const { key, value } of this.store.db<PathRow>('ctx-projects').getRange({ start, end: `${start}\uffff` })) {
      if (this.signal.aborted) return;
      if (this.rows.size >= this.limits.maxFiles) {
        this.restoreCut = true;
        return;
      }
      const rel = String(key).slice(start.length);
      const row = value;
      this.setRow(rel, row);
      const facts = files.get(row.hash);
      if (facts && facts.v === FACTS_VERSION) this.index.set(rel, row, facts);
      if (performance.now() - started > SLICE_MS) {
        await yieldToLoop();
        started = performance.now();
      }
    }
  }

  /**
   * Every indexable path under the root (posix, relative), breadth first so that a partial index
   * holds the shallower files. Directory entries are streamed, so a huge directory is never held
   * whole; the walk stops at limits.maxFiles files or directories, and when the project closes.
   */
  async walk(): Promise<{ files: string[]; hit?: LimitHit }> {
    const files: string[] = [];
    const queue = [''];
    const seen = new Map<string, number>();
    const { maxFiles } = this.limits;
    let hit: LimitHit | undefined;
    walking: for (let next = 0; next < queue.length; next++) {
      if (this.signal.aborted) break;
      const rel = queue[next];
      // Visited directories are counted in `seen`; the queue does not keep them.
      queue[next] = '';
      seen.set(rel, 0);
      this.filter.loadGitignore(rel);
      let dir: fs.Dir;
      try {
        dir = await fs.promises.opendir(path.join(this.root, rel), { bufferSize: DIR_BUFFER });
      } catch {
        continue;
      }
      // Leaving the loop early closes the directory (the iterator's return()).
      for await (const e of dir) {
        if (this.signal.aborted) break walking;
        const child = rel ? `${rel}/${e.name}` : e.name;
        // Dirent types are lstat's: a link is neither, so links (to files or directories) are never followed.
        if (e.isDirectory()) {
          if (this.filter.ignored(child, true)) continue;
          // Past the cap, the directories found so far are still walked; no more are added.
          if (queue.length - (next + 1) + seen.size >= maxFiles) hit ??= { limit: 'maxFiles', what: 'directories', at: maxFiles };
          else queue.push(child);
        } else if (e.isFile() && !this.filter.ignored(child, false)) {
          if (files.length >= maxFiles) {
            hit = { limit: 'maxFiles', what: 'files', at: maxFiles };
            break walking;
          }
          files.push(child);
          seen.set(rel, (seen.get(rel) ?? 0) + 1);
        }
      }
      // The visited part of the queue is let go now and then.
      if (next > 1024 && next * 2 > queue.length) {
        queue.splice(0, next + 1);
        next = -1;
      }
    }
    this.directories = seen;
    return { files: files.sort(), ...(hit ? { hit } : {}) };
  }

  /** The directories the last walk went through ('' is the root), with how many files each holds. */
  directories = new Map<string, number>();

  /** Brings the index up to date with every file; reports progress after each slice of work. */
  async indexAll(onProgress: (done: number, total: number) => void): Promise<void> {
    this.walking++;
    try {
      await this.indexListed(onProgress);
    } finally {
      if (--this.walking === 0) this.touchedDuringWalk.clear();
    }
  }

  private async indexListed(onProgress: (done: number, total: number) => void): Promise<void> {
    const { files, hit: walkHit } = await this.walk();
    const { maxBytes } = this.limits;
    let hit = walkHit;
    /** The files this walk indexed (or kept unchanged): every other row goes at the end. */
    const kept = new Set<string>();
    let bytes = 0;
    let done = 0;
    let started = performance.now();
    // lmdb commits puts in batches off the main thread; waiting for them now and then bounds what
    // is held in memory and surfaces a failed write here instead of as an unhandled rejection.
    let writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < files.length && hit?.limit !== 'maxBytes'; i += READ_BATCH) {
      if (this.signal.aborted) break;
      let batch = files.slice(i, i + READ_BATCH);
      // lstat, not stat: a file replaced by a link since the walk is not followed (apply drops it).
      const stats = await Promise.all(batch.map((rel) => fs.promises.lstat(path.join(this.root, rel)).catch(() => undefined)));
      // Files are taken in order until their sizes add up to the bytes limit.
      for (let j = 0; j < batch.length; j++) {
        const size = indexable(stats[j]) ? (stats[j] as fs.Stats).size : 0;
        if (bytes + size > maxBytes) {
          hit = { limit: 'maxBytes', what: 'bytes', at: maxBytes };
          batch = batch.slice(0, j);
          break;
        }
        bytes += size;
      }
      const reads = await Promise.all(
        batch.map((rel, j) => (this.needsRead(rel, stats[j]) ? readFileInProject(this.root, path.join(this.root, rel)) : Promise.resolve(undefined))),
      );
      for (let j = 0; j < batch.length; j++) {
        if (this.signal.aborted) break;
        kept.add(batch[j]);
        // The stat of what was read, when it was: its size and time go with that content.
        this.apply(batch[j], reads[j]?.stat ?? stats[j], reads[j]?.buf, writes);
        done++;
        if (performance.now() - started > SLICE_MS) {
          onProgress(done, files.length);
          await yieldToLoop();
          started = performance.now();
        }
      }
      if (writes.length > 256) {
        await Promise.all(writes);
        writes = [];
      }
    }
    await Promise.all(writes);
    if (this.signal.aborted) return;
    this.limitHit = hit;
    // A file added (or re-added) by a watcher update during the walk is not the walk's to remove.
    for (const rel of [...this.rows.keys()]) if (!kept.has(rel) && !this.touchedDuringWalk.has(rel)) this.remove(rel);
    if (this.restoreCut) await this.forgetRowsBut(kept);
    onProgress(done, hit ? done : files.length);
  }

  /** Deletes the stored rows restore() left out (past the file limit), but for `kept`. */
  private async forgetRowsBut(kept: Set<string>): Promise<void> {
    const start = `${this.root}\u0000`;
    const db = this.store.db('ctx-projects');
    await this.store.transaction(() => {
      for (const key of db.getKeys({ start, end: `${start}\uffff` }))
        if (!kept.has(String(key).slice(start.length)) && !this.touchedDuringWalk.has(String(key).slice(start.length))) void db.remove(key);
    });
    this.restoreCut = false;
  }

  /** One path after a watcher event: added, changed or gone. */
  async update(rel: string): Promise<Outcome> {
    if (this.signal.aborted) return 'skipped';
    if (this.walking > 0) this.touchedDuringWalk.add(rel);
    if (this.filter.ignored(rel, false)) return this.remove(rel);
    const abs = path.join(this.root, rel);
    // A link is not indexed, whatever it leads to: its target may be outside the project or a
    // credentials file (chokidar reports links as files, it does not follow them).
    const stat = await fs.promises.lstat(abs).catch(() => undefined);
    if (!stat?.isFile()) return this.remove(rel);
    // A new file past the limits waits for a walk, which decides what the index keeps.
    const grows = stat.size - (this.rows.get(rel)?.size ?? 0);
    if ((!this.rows.has(rel) && this.rows.size >= this.limits.maxFiles) || (grows > 0 && this.bytes + grows > this.limits.maxBytes))
      return this.remove(rel, 'skipped');
    const read = this.needsRead(rel, stat) ? await readFileInProject(this.root, abs) : undefined;
    if (this.signal.aborted) return 'skipped';
    const writes: Array<Promise<unknown>> = [];
    const outcome = this.apply(rel, read?.stat ?? stat, read?.buf, writes);
    await Promise.all(writes);
    return outcome;
  }

  private needsRead(rel: string, stat: fs.Stats | undefined): boolean {
    if (!indexable(stat)) return false;
    const row = this.rows.get(rel);
    return !(row && row.size === stat.size && row.mtimeMs === stat.mtimeMs && this.index.get(rel)?.hash === row.hash);
  }

  private apply(rel: string, stat: fs.Stats | undefined, buf: Buffer | undefined, writes: Array<Promise<unknown>>): Outcome {
    if (!indexable(stat)) return this.remove(rel, 'skipped');
    if (!this.needsRead(rel, stat)) {
      this.counters.unchanged++;
      return 'unchanged';
    }
    if (!buf || !looksIndexable(buf)) return this.remove(rel, 'skipped');
    const hash = createHash('sha1').update(buf).digest('hex');
    const row: PathRow = { hash, size: stat.size, mtimeMs: stat.mtimeMs };
    const db = this.store.db<FileFacts>('ctx-files');
    let facts = db.get(hash);
    let outcome: Outcome = 'hashed';
    if (!facts || facts.v !== FACTS_VERSION) {
      facts = this.parse(rel, buf.toString('utf8'));
      writes.push(db.put(hash, facts));
      outcome = 'parsed';
    }
    this.counters[outcome]++;
    this.index.set(rel, row, facts);
    this.setRow(rel, row);
    writes.push(this.store.db<PathRow>('ctx-projects').put(this.rowKey(rel), row));
    return outcome;
  }

  private parse(rel: string, text: string): FileFacts {
    const counts = termCounts(text);
    const symbols = this.extractor.extract(rel, text);
    let lines = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    return {
      v: FACTS_VERSION,
      lines,
      chars: text.length,
      terms: [...counts.keys()],
      counts: [...counts.values()],
      defs: symbols.defs,
      imports: symbols.imports,
    };
  }

  private remove(rel: string, as: 'removed' | 'skipped' = 'removed'): Outcome {
    const had = this.index.delete(rel) || this.rows.has(rel);
    if (this.deleteRow(rel)) void this.store.db('ctx-projects').remove(this.rowKey(rel));
    if (had || as === 'skipped') this.counters[as]++;
    return as;
  }

  /** Forgets the stored rows of this project (the shared facts stay: other paths may use them). */
  async forget(): Promise<void> {
    const start = `${this.root}\u0000`;
    await this.store.transaction(() => {
      for (const key of this.store.db('ctx-projects').getKeys({ start, end: `${start}\uffff` })) void this.store.db('ctx-projects').remove(key);
    });
  }
}

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Store } from '../store/store';
import { FACTS_VERSION, type FileFacts, type FileIndex } from './file-index';
import { looksIndexable, MAX_FILE_BYTES, type FileFilter } from './file-filter';
import type { SymbolExtractor } from './symbols';
import { termCounts } from './tokens';

/** What the index remembers of a path between runs, to skip files whose size and mtime did not change. */
interface PathRow {
  hash: string;
  size: number;
  mtimeMs: number;
}

/** How each file was brought up to date; `parsed` is the expensive case a restart should avoid. */
export interface IndexCounters {
  /** Read and parsed: content never seen before. */
  parsed: number;
  /** Read and hashed, but its content was already parsed (a touch, a revert, a copy). */
  hashed: number;
  /** Same size and mtime as stored: not read at all. */
  unchanged: number;
  /** Binary, minified, too big or unreadable. */
  skipped: number;
  removed: number;
}

export type Outcome = keyof IndexCounters;

/** Work done before yielding to the event loop, so other requests stay responsive. */
const SLICE_MS = 12;
const READ_BATCH = 32;

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
  /** Set by close(): a long walk stops at its next slice instead of holding shutdown up. */
  stopped = false;
  /** Paths a watcher update touched while a walk ran: the walk's list may predate them. */
  private readonly touchedDuringWalk = new Set<string>();
  private walking = 0;

  constructor(
    private readonly store: Store,
    private readonly root: string,
    private readonly filter: FileFilter,
    private readonly extractor: SymbolExtractor,
    private readonly index: FileIndex,
  ) {}

  private rowKey(rel: string): string {
    return `${this.root}\u0000${rel}`;
  }

  /** Loads the stored rows and their facts into the index, so queries work before the first walk ends. */
  async restore(): Promise<void> {
    const start = `${this.root}\u0000`;
    const files = this.store.db<FileFacts>('ctx-files');
    let started = performance.now();
    for (const { key, value } of this.store.db<PathRow>('ctx-projects').getRange({ start, end: `${start}\uffff` })) {
      const rel = String(key).slice(start.length);
      const row = value;
      this.rows.set(rel, row);
      const facts = files.get(row.hash);
      if (facts && facts.v === FACTS_VERSION) this.index.set(rel, row, facts);
      if (performance.now() - started > SLICE_MS) {
        await yieldToLoop();
        started = performance.now();
      }
    }
  }

  /** Every indexable path under the root (posix, relative), walking directories asynchronously. */
  async walk(): Promise<string[]> {
    const out: string[] = [];
    const dirs = [''];
    const seen = new Map<string, number>();
    while (dirs.length) {
      const rel = dirs.pop() as string;
      seen.set(rel, 0);
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch {
        continue;
      }
      if (entries.some((e) => e.name === '.gitignore' && e.isFile())) this.filter.loadGitignore(rel);
      for (const e of entries) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!this.filter.ignored(child, true)) dirs.push(child);
        } else if (e.isFile() && !this.filter.ignored(child, false)) {
          out.push(child);
          seen.set(rel, (seen.get(rel) ?? 0) + 1);
        }
      }
    }
    this.directories = seen;
    return out.sort();
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
    const files = await this.walk();
    const present = new Set(files);
    let done = 0;
    let started = performance.now();
    // lmdb commits puts in batches off the main thread; waiting for them now and then bounds what
    // is held in memory and surfaces a failed write here instead of as an unhandled rejection.
    let writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < files.length; i += READ_BATCH) {
      if (this.stopped) break;
      const batch = files.slice(i, i + READ_BATCH);
      const stats = await Promise.all(batch.map((rel) => fs.promises.stat(path.join(this.root, rel)).catch(() => undefined)));
      const reads = await Promise.all(batch.map((rel, j) => (this.needsRead(rel, stats[j]) ? fs.promises.readFile(path.join(this.root, rel)).catch(() => undefined) : Promise.resolve(undefined))));
      for (let j = 0; j < batch.length; j++) {
        this.apply(batch[j], stats[j], reads[j], writes);
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
    if (this.stopped) return;
    // A file added (or re-added) by a watcher update during the walk is not the walk's to remove.
    for (const rel of [...this.rows.keys()]) if (!present.has(rel) && !this.touchedDuringWalk.has(rel)) this.remove(rel);
    onProgress(done, files.length);
  }

  /** One path after a watcher event: added, changed or gone. */
  async update(rel: string): Promise<Outcome> {
    if (this.walking > 0) this.touchedDuringWalk.add(rel);
    if (this.filter.ignored(rel, false)) return this.remove(rel);
    const abs = path.join(this.root, rel);
    const stat = await fs.promises.stat(abs).catch(() => undefined);
    if (!stat?.isFile()) return this.remove(rel);
    const buf = this.needsRead(rel, stat) ? await fs.promises.readFile(abs).catch(() => undefined) : undefined;
    const writes: Array<Promise<unknown>> = [];
    const outcome = this.apply(rel, stat, buf, writes);
    await Promise.all(writes);
    return outcome;
  }

  private needsRead(rel: string, stat: fs.Stats | undefined): boolean {
    if (!stat || stat.size > MAX_FILE_BYTES) return false;
    const row = this.rows.get(rel);
    return !(row && row.size === stat.size && row.mtimeMs === stat.mtimeMs && this.index.get(rel)?.hash === row.hash);
  }

  private apply(rel: string, stat: fs.Stats | undefined, buf: Buffer | undefined, writes: Array<Promise<unknown>>): Outcome {
    if (!stat || stat.size > MAX_FILE_BYTES) return this.remove(rel, 'skipped');
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
    this.rows.set(rel, row);
    writes.push(this.store.db<PathRow>('ctx-projects').put(this.rowKey(rel), row));
    return outcome;
  }

  private parse(rel: string, text: string): FileFacts {
    const counts = termCounts(text);
    const symbols = this.extractor.extract(rel, text);
    let lines = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
    return { v: FACTS_VERSION, lines, chars: text.length, terms: [...counts.keys()], counts: [...counts.values()], defs: symbols.defs, imports: symbols.imports };
  }

  private remove(rel: string, as: 'removed' | 'skipped' = 'removed'): Outcome {
    const had = this.index.delete(rel) || this.rows.has(rel);
    if (this.rows.delete(rel)) void this.store.db('ctx-projects').remove(this.rowKey(rel));
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

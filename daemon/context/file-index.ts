import type { Definition } from './symbols';
import { identifierParts, stem, terms as termsOf } from './tokens';

/** What is learned from one file's content; stored once per content hash, shared by every path and project with that content. */
export interface FileFacts {
  /** Format of this record; a different value makes the file re-parsed. */
  v: number;
  lines: number;
  chars: number;
  /** Search terms (see tokens.ts) and their counts, parallel arrays. */
  terms: string[];
  counts: number[];
  defs: Definition[];
  imports: string[];
}
export const FACTS_VERSION = 1;

/** A path of the project and what the index needs of it at query time. */
export interface IndexedFile {
  path: string;
  hash: string;
  size: number;
  mtimeMs: number;
  /** The facts without their term lists, which live on only as `termIds`/`tfs` (the memory bound at 10,000 files). */
  facts: Omit<FileFacts, 'terms' | 'counts'>;
  /** The query terms each definition answers to, parallel to `facts.defs` (computed once, not per query). */
  defTerms: string[][];
  /** Term ids, ascending, with their counts: compact and binary-searchable. */
  termIds: Uint32Array;
  tfs: Uint16Array;
  length: number;
  pathTerms: Set<string>;
}

const K1 = 1.2;
const B = 0.75;

/**
 * The in-memory search side of a project's index: files with their term vectors, document
 * frequencies kept up to date on every change, and BM25. Term vectors are sorted id arrays rather
 * than maps, so 10,000 files take megabytes, and a query scans them with binary search.
 */
export class FileIndex {
  private readonly byPath = new Map<string, IndexedFile>();
  private readonly termIds = new Map<string, number>();
  private df: Uint32Array = new Uint32Array(1024);
  private totalLength = 0;
  /** Bumped on every change. */
  version = 0;
  /** Bumped when the set of paths or a file's imports change: the import graph is rebuilt only then. */
  structureVersion = 0;

  get size(): number {
    return this.byPath.size;
  }

  get(path: string): IndexedFile | undefined {
    return this.byPath.get(path);
  }

  files(): IterableIterator<IndexedFile> {
    return this.byPath.values();
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  /** The id of a known term, or undefined. */
  termId(term: string): number | undefined {
    return this.termIds.get(term);
  }

  private idFor(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.termIds.size;
      this.termIds.set(term, id);
      if (id >= this.df.length) {
        const grown = new Uint32Array(this.df.length * 2);
        grown.set(this.df);
        this.df = grown;
      }
    }
    return id;
  }

  set(path: string, meta: { hash: string; size: number; mtimeMs: number }, facts: FileFacts): void {
    const old = this.byPath.get(path);
    const sameStructure = old !== undefined && old.facts.imports.join('\n') === facts.imports.join('\n');
    const structure = this.structureVersion;
    this.delete(path);
    const pairs = facts.terms.map((t, i) => [this.idFor(t), Math.min(65535, facts.counts[i])] as const).sort((a, b) => a[0] - b[0]);
    const termIds = new Uint32Array(pairs.length);
    const tfs = new Uint16Array(pairs.length);
    let length = 0;
    pairs.forEach(([id, n], i) => {
      termIds[i] = id;
      tfs[i] = n;
      length += n;
      this.df[id]++;
    });
    this.totalLength += length;
    const kept = { v: facts.v, lines: facts.lines, chars: facts.chars, defs: facts.defs, imports: facts.imports };
    this.byPath.set(path, {
      path,
      hash: meta.hash,
      size: meta.size,
      mtimeMs: meta.mtimeMs,
      facts: kept,
      defTerms: facts.defs.map((d) => definitionTerms(d.name)),
      termIds,
      tfs,
      length,
      pathTerms: new Set(pathTermsOf(path)),
    });
    this.version++;
    // A content edit that keeps the imports leaves the import graph as it was.
    this.structureVersion = sameStructure ? structure : structure + 1;
  }

  delete(path: string): boolean {
    const old = this.byPath.get(path);
    if (!old) return false;
    for (const id of old.termIds) this.df[id]--;
    this.totalLength -= old.length;
    this.byPath.delete(path);
    this.version++;
    this.structureVersion++;
    return true;
  }

  /** Inverse document frequency of a term (BM25's, never negative). */
  idf(term: string): number {
    const id = this.termIds.get(term);
    const n = id === undefined ? 0 : this.df[id];
    return Math.log(1 + (this.byPath.size - n + 0.5) / (n + 0.5));
  }

  contains(f: IndexedFile, term: string): boolean {
    const id = this.termIds.get(term);
    return id !== undefined && bsearch(f.termIds, id) >= 0;
  }

  /** BM25 of every file that contains a query term. */
  bm25(queryTerms: string[]): Map<string, number> {
    const out = new Map<string, number>();
    const query = queryTerms
      .map((t) => ({ t, id: this.termIds.get(t), idf: this.idf(t) }))
      .filter((q): q is { t: string; id: number; idf: number } => q.id !== undefined);
    if (query.length === 0) return out;
    const avg = this.totalLength / Math.max(1, this.byPath.size);
    for (const f of this.byPath.values()) {
      let score = 0;
      for (const q of query) {
        const i = bsearch(f.termIds, q.id);
        if (i < 0) continue;
        const tf = f.tfs[i];
        score += (q.idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * f.length) / avg));
      }
      if (score > 0) out.set(f.path, score);
    }
    return out;
  }
}

function bsearch(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = a[mid];
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Terms of a path: its directory and file names split like identifiers (`daemon/store/lmdb-store.ts` → daemon, store, lmdb, ts). */
export function pathTermsOf(path: string): string[] {
  return termsOf(path.replace(/[/.\-]/g, ' '));
}

/** Terms a definition name answers to: its parts and the whole name, as the query side sees them. */
export function definitionTerms(name: string): string[] {
  const parts = identifierParts(name).map(stem);
  const whole = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return parts.length > 1 ? [...parts, stem(whole)] : parts;
}

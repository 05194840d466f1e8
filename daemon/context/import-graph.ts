import type { FileIndex } from './file-index';
import { ImportResolver } from './import-resolver';

/** Which project files import which, resolved from the index's import specifiers. */
export class ImportGraph {
  readonly paths: string[];
  readonly indexOf = new Map<string, number>();
  /** Undirected adjacency for PageRank: an importer and what it imports are each other's neighbours. */
  readonly neighbours: number[][];
  readonly imports = new Map<string, Set<string>>();
  readonly importers = new Map<string, Set<string>>();
  /** Test file → the file it tests, matched by name (test_cli.py, cli_test.go, cli.test.ts → cli.*). */
  readonly testOf = new Map<string, string>();

  constructor(index: FileIndex) {
    this.paths = index.paths();
    this.paths.forEach((p, i) => this.indexOf.set(p, i));
    this.neighbours = this.paths.map(() => []);
    const resolver = new ImportResolver(this.paths);
    for (const f of index.files()) {
      const from = this.indexOf.get(f.path) as number;
      for (const spec of f.facts.imports) {
        for (const target of resolver.resolve(f.path, spec)) {
          if (target === f.path) continue;
          const set = this.imports.get(f.path) ?? new Set<string>();
          if (set.has(target)) continue;
          set.add(target);
          this.imports.set(f.path, set);
          const back = this.importers.get(target) ?? new Set<string>();
          back.add(f.path);
          this.importers.set(target, back);
          const to = this.indexOf.get(target) as number;
          this.neighbours[from].push(to);
          this.neighbours[to].push(from);
        }
      }
    }
    this.linkTests();
  }

  /**
   * Tests and their subjects are neighbours too: a change to one usually needs the other, and
   * tests often import a package rather than the file (Python's `from flask import cli`).
   */
  private linkTests(): void {
    const byStem = new Map<string, string[]>();
    for (const p of this.paths) {
      if (isTest(p)) continue;
      const stem = stemOf(p);
      const list = byStem.get(stem) ?? [];
      list.push(p);
      byStem.set(stem, list);
    }
    for (const t of this.paths) {
      if (!isTest(t)) continue;
      const subjects = byStem.get(stemOf(t).replace(/^test_|_test$|\.test$|\.spec$|_spec$|Test$|Tests$/, '')) ?? [];
      // A name shared by many files (index, mod, utils) says nothing about which one is tested.
      if (subjects.length === 0 || subjects.length > 3) continue;
      for (const s of subjects) {
        this.testOf.set(t, s);
        const a = this.indexOf.get(t) as number;
        const b = this.indexOf.get(s) as number;
        this.neighbours[a].push(b);
        this.neighbours[b].push(a);
      }
    }
  }
}

const isTest = (p: string): boolean =>
  /(^|\/)(tests?|__tests__|spec)\//.test(p) || /(^|\/)test_[^/]+$|_test\.[a-z]+$|\.(test|spec)\.[a-z]+$|Tests?\.[a-z]+$/.test(p);
const stemOf = (p: string): string => {
  const base = p.slice(p.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot > 0 && !/\.(test|spec)\./.test(base) ? base.slice(0, dot) : base.replace(/\.[a-z]+$/, '');
};

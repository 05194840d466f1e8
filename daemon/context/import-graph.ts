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
  }
}

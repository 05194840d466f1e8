import * as path from 'node:path';
import { languageOf } from './symbols';

const JS_EXT = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/**
 * Import specifiers to project files, per language: relative JS/TS paths (with the `.js` → `.ts`
 * mapping of Node16 resolution and index files), Python modules (relative, or dotted names matched
 * against module paths from any source root), Go import paths (the longest suffix that names a
 * package directory), Rust `mod x;` and `crate::`/`super::`/`self::` paths. Anything else is a
 * dependency outside the project and resolves to nothing.
 */
export class ImportResolver {
  private readonly files: Set<string>;
  /** Python dotted module name (every suffix of its path) → file. */
  private readonly pyModules = new Map<string, string>();
  /** Go package directory → its non-test .go files. */
  private readonly goDirs = new Map<string, string[]>();

  constructor(files: Iterable<string>) {
    this.files = new Set(files);
    for (const f of this.files) {
      if (f.endsWith('.py')) {
        const mod = f
          .slice(0, -3)
          .replace(/\/__init__$/, '')
          .split('/');
        for (let i = 0; i < mod.length; i++) {
          const name = mod.slice(i).join('.');
          // The shortest path wins a tie: `pkg.mod` means src/pkg/mod.py before tests/x/pkg/mod.py.
          const prev = this.pyModules.get(name);
          if (!prev || prev.length > f.length) this.pyModules.set(name, f);
        }
      } else if (f.endsWith('.go') && !f.endsWith('_test.go')) {
        const dir = path.posix.dirname(f);
        const list = this.goDirs.get(dir) ?? [];
        list.push(f);
        this.goDirs.set(dir, list);
      }
    }
  }

  resolve(from: string, spec: string): string[] {
    const lang = languageOf(from);
    if (lang === 'python') return this.python(from, spec);
    if (lang === 'go') return this.go(spec);
    if (lang === 'rust') return this.rust(from, spec);
    if (spec.startsWith('.')) return this.js(from, spec);
    return [];
  }

  private first(candidates: string[]): string[] {
    for (const c of candidates) if (this.files.has(c)) return [c];
    return [];
  }

  private js(from: string, spec: string): string[] {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const stem = base.replace(/\.(m|c)?js$/, '');
    return this.first([base, ...JS_EXT.map((e) => stem + e), ...JS_EXT.map((e) => `${base}/index${e}`)]);
  }

  private python(from: string, spec: string): string[] {
    if (spec.startsWith('.')) {
      const dots = /^\.+/.exec(spec)?.[0].length ?? 1;
      let dir = path.posix.dirname(from);
      for (let i = 1; i < dots; i++) dir = path.posix.dirname(dir);
      const rest = spec.slice(dots).split('.').filter(Boolean).join('/');
      const base = rest ? (dir === '.' ? rest : `${dir}/${rest}`) : dir;
      return this.first([`${base}.py`, `${base}/__init__.py`]);
    }
    const hit = this.pyModules.get(spec);
    return hit ? [hit] : [];
  }

  private go(spec: string): string[] {
    const parts = spec.split('/');
    for (let i = 0; i < parts.length; i++) {
      const files = this.goDirs.get(parts.slice(i).join('/'));
      if (files) return files;
    }
    return [];
  }

  private rust(from: string, spec: string): string[] {
    const dir = path.posix.dirname(from);
    const own = /(?:^|\/)(?:mod|lib|main)\.rs$/.test(from) ? dir : `${dir}/${path.posix.basename(from, '.rs')}`;
    const clean = (p: string): string => path.posix.normalize(p).replace(/^\.\//, '');
    if (spec.startsWith('mod ')) {
      const name = spec.slice(4);
      return this.first([clean(`${own}/${name}.rs`), clean(`${own}/${name}/mod.rs`)]);
    }
    const segs = spec.replace(/\{.*$/, '').split('::').filter(Boolean);
    let base: string;
    if (segs[0] === 'crate') {
      const src = from.includes('src/') ? from.slice(0, from.indexOf('src/') + 3) : '.';
      base = src;
      segs.shift();
    } else if (segs[0] === 'super') {
      base = path.posix.dirname(own);
      segs.shift();
    } else if (segs[0] === 'self') {
      base = own;
      segs.shift();
    } else return [];
    // `crate::a::b::Item`: the longest module path that is a file.
    for (let n = segs.length; n > 0; n--) {
      const p = clean(`${base}/${segs.slice(0, n).join('/')}`);
      const hit = this.first([`${p}.rs`, `${p}/mod.rs`]);
      if (hit.length) return hit;
    }
    return [];
  }
}

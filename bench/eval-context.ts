import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContextEngine, type ContextProject } from '../daemon/context/engine';
import type { Weights } from '../daemon/context/signals';
import { Store } from '../daemon/store/store';

/**
 * `npm run eval:context -- REPO_PATH [--commits N] [--at REV] [--weights JSON]`: replays a repository's last N commits as
 * questions. Query: the commit message. Truth: the files the commit modified that existed before
 * it (added files cannot be retrieved; deleted ones are not context), minus changelog-like files
 * that restate commit subjects. No leakage: the engine indexes a clone checked out at the parent
 * of the oldest evaluated commit, so neither its files nor its git history hold the answers; the
 * learning variant is fed only commits older than the one evaluated (query = message, attached =
 * the engine's top 10, feedback = the commit's files as if added by hand).
 *
 * Reports recall@5, recall@10 and MRR for (a) plain BM25 over file contents (whitespace/word
 * tokens, no identifier splitting), (b) the engine, (c) the engine after learning.
 */

const CHANGELOG = /(^|\/)(CHANGELOG|CHANGES|NEWS|HISTORY|RELEASES?|RELEASE[-_]NOTES)(\.[a-z]+)?$/i;

interface Case {
  hash: string;
  message: string;
  truth: string[];
}

interface Metrics {
  r5: number;
  r10: number;
  mrr: number;
}

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });

function score(ranked: string[], truth: string[]): Metrics {
  const t = new Set(truth);
  const hits = (k: number): number => ranked.slice(0, k).filter((p) => t.has(p)).length / t.size;
  const first = ranked.findIndex((p) => t.has(p));
  return { r5: hits(5), r10: hits(10), mrr: first < 0 ? 0 : 1 / (first + 1) };
}

function mean(ms: Metrics[]): Metrics {
  const n = Math.max(1, ms.length);
  return { r5: ms.reduce((s, m) => s + m.r5, 0) / n, r10: ms.reduce((s, m) => s + m.r10, 0) / n, mrr: ms.reduce((s, m) => s + m.mrr, 0) / n };
}

/** The baseline: BM25 over lowercase word tokens of each file's content. */
class PlainBm25 {
  private readonly docs: Array<{ path: string; tf: Map<string, number>; len: number }> = [];
  private readonly df = new Map<string, number>();
  private avg = 0;

  constructor(root: string, paths: string[]) {
    let total = 0;
    for (const p of paths) {
      const tf = new Map<string, number>();
      let len = 0;
      for (const w of fs
        .readFileSync(path.join(root, p), 'utf8')
        .toLowerCase()
        .match(/[a-z0-9_]+/g) ?? []) {
        tf.set(w, (tf.get(w) ?? 0) + 1);
        len++;
      }
      for (const w of tf.keys()) this.df.set(w, (this.df.get(w) ?? 0) + 1);
      this.docs.push({ path: p, tf, len });
      total += len;
    }
    this.avg = total / Math.max(1, paths.length);
  }

  rank(query: string): string[] {
    const words = [...new Set(query.toLowerCase().match(/[a-z0-9_]+/g) ?? [])];
    const n = this.docs.length;
    const scored = this.docs.map((d) => {
      let s = 0;
      for (const w of words) {
        const tf = d.tf.get(w);
        if (!tf) continue;
        const df = this.df.get(w) ?? 0;
        s += Math.log(1 + (n - df + 0.5) / (df + 0.5)) * ((tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * d.len) / this.avg)));
      }
      return { p: d.path, s };
    });
    return scored
      .filter((x) => x.s > 0)
      .sort((a, b) => b.s - a.s)
      .map((x) => x.p);
  }
}

async function openEngine(
  root: string,
  dataDir: string,
  weights?: Partial<Weights>,
): Promise<{ engine: ContextEngine; store: Store; project: ContextProject; ms: number }> {
  const store = await Store.open(dataDir);
  const engine = new ContextEngine({ store, watch: false, weights });
  const started = Date.now();
  const project = engine.project(root);
  await project.ready();
  return { engine, store, project, ms: Date.now() - started };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const repo = args.find((a, i) => !a.startsWith('--') && !['--commits', '--weights', '--at'].includes(args[i - 1]));
  // --at REV: the N commits ending at REV instead of HEAD, so a table can be reproduced later.
  const at = args.includes('--at') ? args[args.indexOf('--at') + 1] : 'HEAD';
  const n = Number(args[args.indexOf('--commits') + 1] ?? 0) || 50;
  const weightsArg = args.indexOf('--weights');
  const weights = weightsArg >= 0 ? (JSON.parse(args[weightsArg + 1]) as Partial<Weights>) : undefined;
  if (!repo) throw new Error('usage: npm run eval:context -- REPO_PATH [--commits N] [--at REV] [--weights JSON]');
  const source = path.resolve(repo);
  // Root commits have no parent to index, so they are left out.
  const hashes = git(source, 'log', '--no-merges', '--format=%H %P', `-n${n}`, at)
    .trim()
    .split('\n')
    .filter((l) => l.includes(' ') && l.split(' ')[1])
    .map((l) => l.split(' ')[0])
    .reverse();
  const oldest = hashes[0];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-eval-'));
  const snapshot = path.join(work, 'snapshot');
  try {
    git(work, 'clone', '-q', '--no-checkout', '--shared', source, snapshot);
    git(snapshot, 'checkout', '-q', '--detach', `${oldest}^`);
    const existing = new Set(git(snapshot, 'ls-files').split('\n'));
    const cases: Case[] = [];
    for (const h of hashes) {
      const message = git(source, 'log', '-1', '--format=%B', h).trim();
      const changed = git(source, 'diff-tree', '--no-commit-id', '-r', '--no-renames', '--name-status', `${h}^`, h).trim().split('\n');
      const truth = changed
        .filter((l) => l.startsWith('M\t'))
        .map((l) => l.slice(2))
        .filter((p) => existing.has(p) && !CHANGELOG.test(p));
      cases.push({ hash: h, message, truth });
    }
    const plain = await openEngine(snapshot, path.join(work, 'data-plain'), weights);
    const learning = await openEngine(snapshot, path.join(work, 'data-learning'), weights);
    // The engine's own file list, so every ranker chooses among the same files.
    const files = plain.project.files();
    const indexed = new Set(files);
    const bm25 = new PlainBm25(snapshot, files);
    const results = { bm25: [] as Metrics[], engine: [] as Metrics[], learned: [] as Metrics[] };
    let evaluated = 0;
    for (const c of cases) {
      const truth = c.truth.filter((p) => indexed.has(p));
      if (truth.length > 0) {
        results.bm25.push(score(bm25.rank(c.message), truth));
        results.engine.push(
          score(
            (await plain.project.rank(c.message, { limit: 10 })).map((r) => r.path),
            truth,
          ),
        );
        evaluated++;
      }
      // Every commit is fed to the learner after it is evaluated, so later ones benefit; never before.
      const ranked = await learning.project.rank(c.message, { limit: 10 });
      if (truth.length > 0)
        results.learned.push(
          score(
            ranked.map((r) => r.path),
            truth,
          ),
        );
      if (truth.length > 0) await learning.project.recordAnswer({ query: c.message, attached: ranked.map((r) => r.path), answer: '', mentioned: truth });
    }
    const row = (name: string, m: Metrics): string =>
      `| ${name} | ${m.r5.toFixed(3)} | ${m.r10.toFixed(3)} | ${(1 - m.r10).toFixed(3)} | ${m.mrr.toFixed(3)} |`;
    const b = mean(results.bm25);
    const e = mean(results.engine);
    const l = mean(results.learned);
    console.log(
      `Repository ${path.basename(source)} at ` +
        `${oldest.slice(0, 10)}^: ${files.length} indexed files, ` +
        `${evaluated} of ${cases.length} commits evaluated (the rest modified no existing indexed file); cold index ${plain.ms} ms`,
    );
    console.log('');
    console.log('| ranker | recall@5 | recall@10 | miss@10 | MRR |');
    console.log('|---|---|---|---|---|');
    console.log(row('(a) BM25 over contents', b));
    console.log(row('(b) engine', e));
    console.log(row('(c) engine + learner', l));
    console.log('');
    console.log(
      `engine miss@10 / BM25 ` +
        `miss@10 = ${((1 - e.r10) / Math.max(1e-9, 1 - b.r10)).toFixed(2)} (goal ≤ 0.70); learning lowers the engine's ` +
        `miss@10 by ${(100 * (1 - (1 - l.r10) / Math.max(1e-9, 1 - e.r10))).toFixed(1)}% (goal ≥ 10%)`,
    );
    await plain.engine.close();
    await learning.engine.close();
    await plain.store.close();
    await learning.store.close();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

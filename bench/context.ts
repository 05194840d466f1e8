import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ContextEngine, type ContextProject } from '../daemon/context/engine';
import { Store } from '../daemon/store/store';
import { ContextProgressNotification, ContextRequest } from '../protocol/context';
import { connect, makeSandbox, startForeground, teardown } from '../test/helpers/daemon';

/**
 * `npm run bench:context [-- REAL_REPO]`: the context engine on a synthetic 10,000-file TypeScript
 * repository (cold index, query latency, time from a save to the edit being visible in a query,
 * RSS), and optionally on a real repository; then the real daemon on a 60,000-file tree with the
 * default limits (peak memory, and how long SIGTERM takes to stop it while it indexes). Prints
 * markdown; asserts nothing.
 */

const WORDS = (
  'account ledger invoice budget session stream token model host route cache config parser socket render window buffer packet client server queue ' +
  'worker schedule report export import migrate index search rank learn watch commit branch merge diff patch review deploy metric alert trace span ' +
  'shard replica lease quorum'
).split(' ');
const pick = (i: number, k: number): string => WORDS[(i * 7 + k * 13) % WORDS.length];
const cap = (w: string): string => w[0].toUpperCase() + w.slice(1);

export function synthesise(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, 'src', `m${Math.floor(i / 100)}`);
    fs.mkdirSync(dir, { recursive: true });
    const a = pick(i, 1);
    const b = pick(i, 2);
    const c = pick(i, 3);
    const imports = i % 100 > 0 ? `import { ${pick(i - 1, 1)}${cap(pick(i - 1, 2))}${i - 1} } from './f${i - 1}';\n\n` : '';
    const body = [
      `export interface ${cap(a)}${cap(c)}Options${i} { ${b}Limit: number; ${c}Name: string }`,
      `export function ${a}${cap(b)}${i}(options: ${cap(a)}${cap(c)}Options${i}): number {\n  let total = 0;\n  for (let k = 0; k < ` +
        `options.${b}Limit; k++) total += k * ${i % 17};\n  return total;\n}`,
      `export class ${cap(b)}${cap(c)}Service${i} {\n  private ` +
        `readonly ${c}s = new Map<string, ` +
        `number>();\n  ${c}For(key: string): number | undefined {\n    ` +
        `return this.${c}s.get(key);\n  }\n  update${cap(a)}(key: string, value: number): void {\n    this.${c}s.set(key, value);\n  }\n}`,
      `// ${a} ${b} ${c}: keeps the ${b} of each ${a} within its ${c} window.`,
    ];
    fs.writeFileSync(path.join(dir, `f${i % 100}.ts`), imports + body.join('\n\n') + '\n');
  }
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;
const mb = (): number => Math.round(process.memoryUsage().rss / 1024 / 1024);
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function queries(project: ContextProject, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const q = `how does the ${pick(i, 5)} ${pick(i, 6)} update its ${pick(i, 8)}?`;
    const start = performance.now();
    await project.rank(q, { limit: 20 });
    times.push(performance.now() - start);
  }
  return times;
}

async function main(): Promise<void> {
  const real = process.argv[2];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-bench-context-'));
  const lines: string[] = [];
  try {
    const root = path.join(work, 'repo');
    synthesise(root, 10_000);
    execFileSync('git', ['init', '-q'], { cwd: root });
    const store = await Store.open(path.join(work, 'data'));
    const engine = new ContextEngine({ store });
    const rssBefore = mb();
    const start = performance.now();
    const project = engine.project(root);
    // The event loop stays free while indexing: measure the longest gap between timer ticks.
    let last = performance.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    await project.ready();
    const cold = performance.now() - start;
    // Watching starts after indexing, a directory at a time; the stall is measured through it.
    await project.watchReady();
    const watched = performance.now() - start;
    clearInterval(ticker);
    const q = await queries(project, 100);
    // Save → visible: write a file with a new identifier, poll rank() until it comes first.
    const visible: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ident = `freshlyAddedMarker${i}Zq`;
      const file = path.join(root, 'src', 'm7', `f${i}.ts`);
      const t0 = performance.now();
      fs.appendFileSync(file, `export const ${ident} = ${i};\n`);
      for (;;) {
        const r = await project.rank(ident, { limit: 1 });
        if (r[0]?.path === `src/m7/f${i}.ts`) break;
        await new Promise((r2) => setTimeout(r2, 2));
      }
      visible.push(performance.now() - t0);
    }
    // Garbage is not memory in use: collect it first when node runs with --expose-gc.
    (globalThis as { gc?: () => void }).gc?.();
    const rss = mb();
    const mem = process.memoryUsage();
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const rssAnon = Math.round(Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    const counters = project.counters();
    await engine.close();
    await store.close();
    lines.push(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}, ${new Date().toISOString()}`, '');
    lines.push(
      '| repository | files | cold index | every file watched | longest event-loop stall until then | query p50 | query p90 | save → visible p50 | ' +
        'save → visible max | RSS after (anonymous) | live JS heap |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    lines.push(
      `| synthetic ` +
        `TypeScript | ${counters.parsed} parsed | ` +
        `${(cold / 1000).toFixed(2)} s | ${(watched / 1000).toFixed(2)} s | ` +
        `${ms(worstGap)} | ${ms(quantile(q, 0.5))} | ` +
        `${ms(quantile(q, 0.9))} | ${ms(quantile(visible, 0.5))} | ` +
        `${ms(Math.max(...visible))} | ${rss} MB (${rssAnon} MB; ${rssBefore} MB before) | ${Math.round(mem.heapUsed / 1048576)} MB |`,
    );
    if (real) {
      const store2 = await Store.open(path.join(work, 'data-real'));
      const engine2 = new ContextEngine({ store: store2, watch: false });
      const t = performance.now();
      const p = engine2.project(real);
      await p.ready();
      const coldReal = performance.now() - t;
      const q2 = await queries(p, 50);
      lines.push(
        `| ${path.basename(real)} | ${p.counters().parsed} parsed | ` +
          `${(coldReal / 1000).toFixed(2)} s | – | – | ${ms(quantile(q2, 0.5))} | ${ms(quantile(q2, 0.9))} | – | – | ${mb()} MB | – |`,
      );
      await engine2.close();
      await store2.close();
    }
    console.log(lines.join('\n'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A daemon's peak and current RSS in MB, from /proc (VmHWM is the high-water mark). */
function daemonMemory(pid: number): { peak: number; now: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peak: Math.round(kb('VmHWM') / 1024), now: Math.round(kb('VmRSS') / 1024) };
}

/**
 * The real daemon (a fresh data dir each time, so every index is cold) on a tree past the default
 * limit: `aid/context` on it to the end (time, peak RSS, what the index says), and SIGTERM while
 * it walks or parses (time from the signal to the process's exit).
 */
async function limitsAndStopping(files: number, rounds: number): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-bench-limits-'));
  const root = path.join(work, 'tree');
  const lines: string[] = [];
  try {
    synthesise(root, files);
    const s = makeSandbox();
    try {
      const daemon = await startForeground(s);
      const session = await connect(s);
      const start = performance.now();
      const r = await session.connection.sendRequest(ContextRequest, { project: root, projectExplicit: true, query: 'budget session stream' });
      const took = performance.now() - start;
      const mem = daemonMemory(daemon.pid);
      session.close();
      lines.push(
        `| ${files.toLocaleString('en-US')}-file tree, default ` +
          `limits | ${r.index.filesDone.toLocaleString('en-US')} files indexed in ` +
          `${(took / 1000).toFixed(1)} s | peak RSS ${mem.peak} MB, ${mem.now} MB after | ${r.index.partial ?? 'not partial'} |`,
      );
    } finally {
      await teardown(s);
    }
    for (const phase of ['walk', 'parse'] as const) {
      const stops: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const sb = makeSandbox();
        try {
          const daemon = await startForeground(sb);
          const session = await connect(sb);
          let parsing = false;
          session.connection.onNotification(ContextProgressNotification, (p) => {
            if (p.filesDone >= 5000) parsing = true;
          });
          void session.connection.sendRequest(ContextRequest, { project: root, projectExplicit: true, query: 'x', progressToken: 't' }).catch(() => undefined);
          // The walk of this tree takes about a second: 100 ms in, it is walking; 5,000 files done, it is parsing.
          if (phase === 'walk') await new Promise((resolve) => setTimeout(resolve, 100));
          else while (!parsing) await new Promise((resolve) => setTimeout(resolve, 5));
          const t0 = performance.now();
          daemon.child.kill('SIGTERM');
          await daemon.exited;
          stops.push(performance.now() - t0);
          session.close();
        } finally {
          await teardown(sb);
        }
      }
      lines.push(`| SIGTERM while it ${phase === 'walk' ? 'walks' : 'parses'} (${rounds} runs) | exit after ${stops.map((x) => ms(x)).join(', ')} | | |`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return ['', '| daemon | indexing | memory | index says |', '|---|---|---|---|', ...lines];
}

if (require.main === module) {
  main()
    .then(async () => console.log((await limitsAndStopping(60_000, 3)).join('\n')))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}

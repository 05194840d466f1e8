import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { StatusRequest } from '../protocol/daemon';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { AIC_BIN, aid, connect, makeSandbox, teardown } from '../test/helpers/daemon';
import { benchStreams } from './streams';
import { benchLedger } from './ledger';
import { benchSessions } from './sessions';

/**
 * `npm run bench`: timings for docs/benchmarks.md. Prints a markdown report; asserts nothing.
 * Commands are interleaved round by round so machine noise hits every variant alike.
 */

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summary(samples: number[]): { median: number; p90: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99) };
}

function timeCommand(args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  // Outside any git repository: the one-shot ask is timed without project context (bench:context times that).
  const result = spawnSync(process.execPath, args, { env, cwd: os.tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = performance.now() - start;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr.toString()}`);
  return elapsed;
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

function startSimulator(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'fakes', 'run-ollama-simulator.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve({ url: d.toString().trim(), child }));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 40);
  // The simulator runs in its own process: spawnSync below blocks this one's event loop.
  const sim = await startSimulator(['--reply-words', '20']);
  const sandbox = makeSandbox({ ollamaUrl: sim.url });
  const lines: string[] = [];
  try {
    if ((await aid(['start'], sandbox)).code !== 0) throw new Error('could not start aid');
    const env = { ...sandbox.env, AID_NO_AUTOSTART: '1' };

    // 1. Start-up: bare node vs aic --version vs aic status (daemon running).
    const bare: number[] = [];
    const version: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < 3; i++) timeCommand([AIC_BIN, 'status'], env); // warm the page cache
    for (let i = 0; i < rounds; i++) {
      bare.push(timeCommand(['-e', '0'], env));
      version.push(timeCommand([AIC_BIN, '--version'], env));
      status.push(timeCommand([AIC_BIN, 'status'], env));
    }
    const b = summary(bare);
    const v = summary(version);
    const s = summary(status);
    lines.push(
      `### Client start-up (${rounds} interleaved rounds, wall time per process)`,
      '',
      '| command | median | p90 | median vs `node -e 0` |',
      '|---|---|---|---|',
    );
    lines.push(`| \`node -e 0\` | ${ms(b.median)} | ${ms(b.p90)} | 1.00× |`);
    lines.push(`| \`aic --version\` | ${ms(v.median)} | ${ms(v.p90)} | ${(v.median / b.median).toFixed(2)}× |`);
    lines.push(`| \`aic status\` | ${ms(s.median)} | ${ms(s.p90)} | ${(s.median / b.median).toFixed(2)}× |`, '');

    // 2. RPC round trips: 50 concurrent clients × 200 sequential aid/status = 10,000 requests.
    const clients = 50;
    const perClient = 200;
    const sessions = await Promise.all(Array.from({ length: clients }, () => connect(sandbox)));
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      sessions.map(async (session) => {
        for (let i = 0; i < perClient; i++) {
          const t = performance.now();
          await session.connection.sendRequest(StatusRequest);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const wall = performance.now() - started;
    for (const session of sessions) session.close();
    const r = summary(latencies);
    lines.push(
      `### RPC round trip (aid/status, ${clients} concurrent clients × ${perClient} requests)`,
      '',
      '| requests | p50 | p90 | p99 | throughput |',
      '|---|---|---|---|---|',
    );
    lines.push(`| ${latencies.length} | ${ms(r.median)} | ${ms(r.p90)} | ${ms(r.p99)} | ${Math.round(latencies.length / (wall / 1000))} req/s |`, '');

    // 3. One-shot ask against the simulator: a 20-token reply.
    const asks: number[] = [];
    const askRounds = Math.max(10, Math.floor(rounds / 2));
    for (let i = 0; i < askRounds; i++) asks.push(timeCommand([AIC_BIN, 'ask', '-m', 'ollama/llama3.2', 'benchmark prompt'], env));
    const a = summary(asks);
    lines.push(
      `### \`aic ask\` one-shot (${askRounds} runs, 20-token reply from the Ollama simulator, daemon running)`,
      '',
      '| median | p90 | median vs `node -e 0` |',
      '|---|---|---|',
    );
    lines.push(`| ${ms(a.median)} | ${ms(a.p90)} | ${(a.median / b.median).toFixed(2)}× |`, '');

    lines.push(...(await benchStreams(summary, ms)));
    lines.push(...(await benchLedger(summary, ms)));
    lines.push(...(await benchSessions(summary, ms)));

    const header = [
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
        `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`,
      '',
    ];
    process.stdout.write([...header, ...lines].join('\n') + '\n');
  } finally {
    await teardown(sandbox);
    sim.child.kill('SIGTERM');
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}

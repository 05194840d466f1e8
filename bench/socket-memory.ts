import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AID_BIN, makeSandbox, socketAnswers, teardown, waitFor, type Sandbox } from '../test/helpers/daemon';
import { RawClient } from '../test/helpers/raw-rpc';

/**
 * `npm run build && node dist/bench/socket-memory.js`: the daemon's memory when clients leave
 * frames half sent, lie about a frame's length, or vanish in the middle of a stream (issue 11,
 * item 4). The daemon runs as `node --expose-gc --require dist/bench/gc-probe.js aid start
 * --foreground`; RSS is sampled from /proc/PID/status every 50 ms, and "after" is read once the
 * clients are gone and a full GC ran (gc-probe.js, on SIGUSR2). Prints markdown; asserts nothing.
 *
 * BENCH_PARTIAL_CLIENTS (30), BENCH_PARTIAL_MIB (15), BENCH_VANISH_ROUNDS (10) and
 * BENCH_VANISH_CLIENTS (50 a round, half of them vanish at their first delta) change the sizes.
 */

const MiB = 1024 * 1024;
const mb = (bytes: number): string => `${Math.round(bytes / MiB)} MB`;
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

interface AfterGc {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number | null;
}

function vmRss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** A daemon with the GC probe preloaded; `afterGc()` asks it for a full GC and its figures. */
class ProbedDaemon {
  private stderr = '';
  private readonly reports: AfterGc[] = [];
  private waiting: (() => void) | undefined;

  private constructor(readonly child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      let newline: number;
      while ((newline = this.stderr.indexOf('\n')) >= 0) {
        const line = this.stderr.slice(0, newline);
        this.stderr = this.stderr.slice(newline + 1);
        if (line.startsWith('bench-gc ')) {
          this.reports.push(JSON.parse(line.slice('bench-gc '.length)) as AfterGc);
          this.waiting?.();
        } else if (line.startsWith('bench-gc-failed')) process.stderr.write(`${line}\n`);
      }
    });
  }

  static async start(sandbox: Sandbox): Promise<ProbedDaemon> {
    const probe = path.join(__dirname, 'gc-probe.js');
    const child = spawn(process.execPath, ['--expose-gc', '--require', probe, AID_BIN, 'start', '--foreground'], {
      env: sandbox.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const daemon = new ProbedDaemon(child);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
        return socketAnswers(sandbox.socket);
      },
      15000,
      () => 'the daemon to answer',
    );
    return daemon;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async afterGc(): Promise<AfterGc> {
    const count = this.reports.length;
    const arrived = new Promise<void>((resolve) => (this.waiting = resolve));
    this.child.kill('SIGUSR2');
    await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('no GC report from the daemon')), 30000))]);
    this.waiting = undefined;
    return this.reports[count];
  }
}

/** Highest RSS seen while `work` runs. */
async function peakDuring<T>(pid: number, work: () => Promise<T>): Promise<{ peak: number; value: T }> {
  let peak = vmRss(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, vmRss(pid));
    } catch {
      // The daemon went away; the run reports what it saw.
    }
  }, 50);
  try {
    const value = await work();
    return { peak: Math.max(peak, vmRss(pid)), value };
  } finally {
    clearInterval(timer);
  }
}

async function handshaken(socket: string): Promise<RawClient> {
  const raw = await RawClient.connect(socket);
  raw.handshake(0);
  await raw.response(0);
  return raw;
}

/** Writes `bytes` in 1 MiB pieces (spaces, or `piece`), as fast as the daemon reads them; stops early if it closes. */
async function pour(raw: RawClient, bytes: number, deadline = Infinity, piece: Buffer = Buffer.alloc(MiB, 0x20)): Promise<number> {
  let written = 0;
  while (written < bytes && !raw.closed && Date.now() < deadline) {
    const size = Math.min(piece.length, bytes - written);
    written += size;
    if (!raw.socket.write(size === piece.length ? piece : piece.subarray(0, size))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          raw.socket.off('drain', done);
          raw.socket.off('close', done);
          resolve();
        };
        raw.socket.on('drain', done);
        raw.socket.on('close', done);
      });
    }
  }
  return written;
}

/**
 * About 1 MiB of small well-formed frames: what follows the 16 bytes a lenient parser believes
 * the first frame has, so that a parser reading "Content-Length : 16" finds nothing wrong after it.
 */
function wellFormedFrames(): Buffer {
  const frame = Buffer.from(`Content-Length: 1000\r\n\r\n${' '.repeat(1000)}`);
  return Buffer.concat(Array.from({ length: Math.floor(MiB / frame.length) }, () => frame));
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startSimulator(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'fakes', 'run-ollama-simulator.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve({ url: d.toString().trim(), child }));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

interface Row {
  run: string;
  before: AfterGc;
  peak: number;
  after: AfterGc;
  note: string;
}

async function partialFrames(daemon: ProbedDaemon, socket: string): Promise<Row> {
  const clients = env('BENCH_PARTIAL_CLIENTS', 30);
  const sent = env('BENCH_PARTIAL_MIB', 15) * MiB;
  const before = await daemon.afterGc();
  const { peak } = await peakDuring(daemon.pid, async () => {
    const raws = await Promise.all(Array.from({ length: clients }, () => handshaken(socket)));
    await Promise.all(
      raws.map(async (raw) => {
        raw.writeRaw('Content-Length: 16000000\r\n\r\n');
        await pour(raw, sent);
      }),
    );
    // Give the daemon time to read what is in flight before the clients go.
    await pause(500);
    for (const raw of raws) raw.close();
    await pause(500);
  });
  const after = await daemon.afterGc();
  return { run: `${clients} clients send ${sent / MiB} MiB of a 16,000,000-byte frame, then disconnect`, before, peak, after, note: '' };
}

async function lyingLength(daemon: ProbedDaemon, socket: string): Promise<Row> {
  const before = await daemon.afterGc();
  const seconds = 5;
  const started = Date.now();
  const { peak, value } = await peakDuring(daemon.pid, async () => {
    const raw = await handshaken(socket);
    raw.writeRaw('Content-Length: 999999999999\r\nContent-Length : 16\r\n\r\n{"jsonrpc":"2.0"');
    const written = await pour(raw, 1024 * MiB, started + seconds * 1000, wellFormedFrames());
    const closed = raw.closed;
    raw.close();
    await pause(500);
    return { written, closed, ms: Date.now() - started };
  });
  const after = await daemon.afterGc();
  const note = value.closed
    ? `the daemon closed the connection after ${mb(value.written)} had been written`
    : `still open after ${(value.ms / 1000).toFixed(1)} s and ${mb(value.written)} written`;
  return { run: `duplicate Content-Length (999999999999, then "Content-Length : 16"), then data for up to ${seconds} s`, before, peak, after, note };
}

async function vanishingClients(daemon: ProbedDaemon, socket: string): Promise<Row> {
  const rounds = env('BENCH_VANISH_ROUNDS', 10);
  const perRound = env('BENCH_VANISH_CLIENTS', 50);
  const before = await daemon.afterGc();
  let vanished = 0;
  let finished = 0;
  const { peak } = await peakDuring(daemon.pid, async () => {
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: perRound }, async (_, i) => {
          const raw = await handshaken(socket);
          raw.send({ id: 1, method: 'aid/ask', params: { prompt: 'bench', model: 'ollama/llama3.2', streamToken: `v${round}-${i}`, noContext: true } });
          if (i % 2 === 0) {
            await raw.notification('aid/ask/delta');
            raw.close();
            vanished++;
          } else {
            await raw.response(1, 60000);
            raw.close();
            finished++;
          }
        }),
      );
    }
    await pause(500);
  });
  const after = await daemon.afterGc();
  return {
    run: `${rounds} rounds × ${perRound} clients streaming an ask (200 tokens, 5 ms apart); half vanish at their first token`,
    before,
    peak,
    after,
    note: `${vanished} vanished, ${finished} finished`,
  };
}

async function main(): Promise<void> {
  const sim = await startSimulator(['--delay', '5', '--reply-words', '200']);
  const rows: Row[] = [];
  try {
    // Each run has a daemon of its own, so what one run leaves behind is not the next one's "before".
    for (const run of [partialFrames, lyingLength, vanishingClients]) {
      const sandbox = makeSandbox({ ollamaUrl: sim.url, config: { handshakeTimeoutMs: 600000 } });
      try {
        const daemon = await ProbedDaemon.start(sandbox);
        try {
          rows.push(await run(daemon, sandbox.socket));
        } finally {
          daemon.child.kill('SIGTERM');
          await new Promise((r) => daemon.child.once('exit', r));
        }
      } finally {
        await teardown(sandbox);
      }
    }
  } finally {
    sim.child.kill('SIGTERM');
  }
  const lines = [
    `Machine: ${process.arch}, Node ${process.version}, ${new Date().toISOString()}`,
    '',
    '| run | RSS before | RSS peak | RSS after GC | JS heap after | buffers after (external) | ClientConnections after | notes |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${mb(r.before.rss)} | ` +
        `${mb(r.peak)} | ${mb(r.after.rss)} | ${mb(r.after.heapUsed)} | ${mb(r.after.external)} | ${r.after.connections ?? '?'} | ${r.note} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StatusRequest } from '../../protocol/daemon';
import { aid, connect, isAlive, startForeground, waitFor, type RunResult, type Sandbox } from './daemon';

/** Pids of the live `aid start --foreground` processes serving this sandbox's socket. */
export function daemonsOf(sandbox: Sandbox): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
        const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8');
        return cmd.includes('aid.js') && cmd.includes('--foreground') && env.split('\0').includes(`AID_SOCKET=${sandbox.socket}`);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isAlive);
}

/** The pid answering on the socket, or undefined when nothing answers. */
export async function answeringPid(sandbox: Sandbox): Promise<number | undefined> {
  try {
    const session = await connect(sandbox);
    try {
      return (await session.connection.sendRequest(StatusRequest)).pid;
    } finally {
      session.close();
    }
  } catch {
    return undefined;
  }
}

/** Leaves what `kill -9` of a daemon leaves: its socket and its lock file, both stale. */
export async function leaveStaleDaemonFiles(sandbox: Sandbox): Promise<number> {
  const daemon = await startForeground(sandbox);
  daemon.child.kill('SIGKILL');
  await daemon.exited;
  if (!fs.existsSync(sandbox.socket) || !fs.existsSync(`${sandbox.socket}.lock`)) throw new Error('a killed daemon should leave its socket and lock');
  return daemon.pid;
}

export interface RaceOutcome {
  starters: RunResult[];
  /** Daemons alive for the socket once every starter returned and the losers had time to exit. */
  daemons: number[];
  /** The pid answering on the socket afterwards (undefined: nobody, e.g. its socket was removed). */
  answering: number | undefined;
  /** Pids the starters said they started or found. */
  reported: number[];
}

/**
 * `count` concurrent `aid start`s on one sandbox. Waits for the losing daemons to exit (bounded);
 * daemons still alive after that are what the round left behind.
 */
export async function raceStarts(sandbox: Sandbox, count: number): Promise<RaceOutcome> {
  const starters = await Promise.all(Array.from({ length: count }, () => aid(['start'], sandbox, { timeoutMs: 60000 })));
  await waitFor(() => daemonsOf(sandbox).length <= 1, 15000).catch(() => undefined);
  const reported = starters.map((r) => Number(/pid (\d+)/.exec(r.stderr)?.[1])).filter(Number.isFinite);
  return { starters, daemons: daemonsOf(sandbox), answering: await answeringPid(sandbox), reported };
}

/** Kills whatever daemons the round left (a lost socket makes `aid stop` unable to reach them). */
export async function killDaemons(sandbox: Sandbox): Promise<void> {
  for (const pid of daemonsOf(sandbox)) process.kill(pid, 'SIGKILL');
  await waitFor(
    () => daemonsOf(sandbox).length === 0,
    10000,
    () => 'the daemons of the round to exit',
  );
}

/** What `PidLock.acquire` answered each contender of a lock race. */
export type LockOutcome = { acquired: boolean } | { error: string };

/**
 * Processes that call `PidLock.acquire(file)` at the same moment, round after round (each has
 * loaded the lock module and waits for one "go"); between rounds the holder lets go.
 */
export class LockContenders {
  private readonly children: ChildProcessByStdio<Writable, Readable, null>[];
  private readonly lines: string[][];
  private readonly exited: Promise<unknown>[];

  private constructor(file: string, count: number) {
    const contender = path.join(__dirname, 'lock-contender.js');
    this.children = Array.from({ length: count }, () => spawn(process.execPath, [contender, file], { stdio: ['pipe', 'pipe', 'inherit'] }));
    this.lines = this.children.map((child) => {
      const queue: string[] = [];
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop() as string;
        queue.push(...parts);
      });
      return queue;
    });
    this.exited = this.children.map((child) => new Promise((resolve) => child.on('exit', resolve)));
  }

  static async start(file: string, count: number): Promise<LockContenders> {
    const contenders = new LockContenders(file, count);
    await contenders.next(() => 'every contender to be ready');
    return contenders;
  }

  /** Waits for one more line from every contender and returns those lines. */
  private async next(what: () => string): Promise<string[]> {
    await waitFor(() => this.lines.every((l) => l.length > 0), 20000, what);
    return this.lines.map((l) => l.shift() as string);
  }

  /** One race: every contender tries at once; then whoever got the lock lets go. */
  async race(): Promise<LockOutcome[]> {
    for (const child of this.children) child.stdin.write('go\n');
    const outcomes = (await this.next(() => 'every contender to answer')).map((line) => JSON.parse(line) as LockOutcome);
    for (const child of this.children) child.stdin.write('release\n');
    await this.next(() => 'every contender to let go');
    return outcomes;
  }

  /** A lone contender takes the lock and keeps it (until `stop`). */
  async holdOne(): Promise<LockOutcome> {
    for (const child of this.children) child.stdin.write('go\n');
    return JSON.parse((await this.next(() => 'the contender to answer'))[0]) as LockOutcome;
  }

  async stop(): Promise<void> {
    for (const child of this.children) child.stdin.end();
    await Promise.all(this.exited);
  }
}

/** A lock file as a crashed daemon leaves it: the pid of a process that has exited. */
export async function writeStaleLock(file: string): Promise<void> {
  const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => dead.on('exit', resolve));
  fs.writeFileSync(file, `${dead.pid}\n`, { mode: 0o600 });
}

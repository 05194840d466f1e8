import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSession, type Session } from '../../protocol/transport';

/** The package root, from dist/test/helpers/. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const AID_BIN = path.join(ROOT, 'daemon', 'bin', 'aid.js');
export const AIC_BIN = path.join(ROOT, 'client', 'bin', 'aic.js');

/** Private dirs for one daemon: its own socket, config, data and state, as two users would have. */
export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  socket: string;
  configFile: string;
  dataDir: string;
  stateDir: string;
  cleanup(): void;
}

/** Env vars of the developer's machine that would leak into the daemon under test. */
const SCRUBBED = [
  'AID_SOCKET',
  'AID_CONFIG',
  'AID_DATA_DIR',
  'AID_STATE_DIR',
  'AID_NO_AUTOSTART',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_STATE_HOME',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'OPENROUTER_API_KEY',
  'OLLAMA_HOST',
  'ANTHROPIC_BASE_URL',
  'OPENAI_BASE_URL',
  'GEMINI_BASE_URL',
  'OPENROUTER_BASE_URL',
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
];

/**
 * A fresh sandbox. `ollamaUrl` defaults to a closed local port, so no test ever reaches a real
 * Ollama by accident. The socket lives in a short /tmp dir to stay under the sun_path limit.
 */
export function makeSandbox(options: { ollamaUrl?: string; config?: unknown; env?: NodeJS.ProcessEnv } = {}): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aidt-'));
  const socketDir = path.join(dir, 'run');
  fs.mkdirSync(socketDir, { mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SCRUBBED) delete env[key];
  const sandbox: Sandbox = {
    dir,
    socket: path.join(socketDir, 'aid.sock'),
    configFile: path.join(dir, 'config', 'config.json'),
    dataDir: path.join(dir, 'data'),
    stateDir: path.join(dir, 'state'),
    env,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  Object.assign(env, {
    AID_SOCKET: sandbox.socket,
    AID_CONFIG: sandbox.configFile,
    AID_DATA_DIR: sandbox.dataDir,
    AID_STATE_DIR: sandbox.stateDir,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    HOME: path.join(dir, 'home'),
    OLLAMA_HOST: options.ollamaUrl ?? 'http://127.0.0.1:59998',
    ...options.env,
  });
  if (options.config !== undefined) writeConfig(sandbox, options.config);
  return sandbox;
}

export function writeConfig(sandbox: Sandbox, config: unknown): void {
  fs.mkdirSync(path.dirname(sandbox.configFile), { recursive: true });
  fs.writeFileSync(sandbox.configFile, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a bin to completion. `input` is piped to stdin; without it stdin is /dev/null. */
export function run(
  bin: string,
  args: string[],
  sandbox: Sandbox,
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...sandbox.env, ...options.env },
      cwd: options.cwd ?? sandbox.dir,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} ${args.join(' ')} did not finish in ${options.timeoutMs ?? 15000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 15000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const aic = (args: string[], sandbox: Sandbox, options?: Parameters<typeof run>[3]): Promise<RunResult> => run(AIC_BIN, args, sandbox, options);
export const aid = (args: string[], sandbox: Sandbox, options?: Parameters<typeof run>[3]): Promise<RunResult> => run(AID_BIN, args, sandbox, options);

/** A daemon in the foreground as a child of the test, so the test can signal or kill -9 it. */
export interface ForegroundDaemon {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startForeground(sandbox: Sandbox, options: { env?: NodeJS.ProcessEnv; bin?: string } = {}): Promise<ForegroundDaemon> {
  const child = spawn(process.execPath, [options.bin ?? AID_BIN, 'start', '--foreground'], {
    env: { ...sandbox.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${stderr}`);
      return socketAnswers(sandbox.socket);
    },
    15000,
    () => `daemon did not answer on ${sandbox.socket}: ${stderr}`,
  );
  return { child, pid: child.pid as number, stderr: () => stderr, exited };
}

export async function socketAnswers(socket: string): Promise<boolean> {
  try {
    const session = await openSession(socket, 'test', 'test', 1000);
    session.close();
    return true;
  } catch {
    return false;
  }
}

/** A handshaken session with the sandbox's daemon, speaking the daemon's own version. */
export async function connect(sandbox: Sandbox, version = readPackageVersion()): Promise<Session> {
  return openSession(sandbox.socket, version, 'test');
}

export function readPackageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Polls `check` with backoff until it returns true; for processes and files, never for timing. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10000, describe: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${describe()}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Alive and not a zombie: a detached daemon's exit is reaped by init, which may be slow or absent here. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Stops whatever daemon the sandbox has, then removes its files. */
export async function teardown(sandbox: Sandbox): Promise<void> {
  const lock = `${sandbox.socket}.lock`;
  const pid = fs.existsSync(lock) ? Number.parseInt(fs.readFileSync(lock, 'utf8'), 10) : NaN;
  if (Number.isFinite(pid) && isAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitFor(
      () => !isAlive(pid),
      10000,
      () => `pid ${pid} to exit`,
    ).catch(() => process.kill(pid, 'SIGKILL'));
  }
  sandbox.cleanup();
}

/** Sandboxes made during a test, torn down together after it (`afterEach(() => pool.teardownAll())`). */
export class SandboxPool {
  private readonly made: Sandbox[] = [];

  make(options?: Parameters<typeof makeSandbox>[0]): Sandbox {
    const sandbox = makeSandbox(options);
    this.made.push(sandbox);
    return sandbox;
  }

  async teardownAll(): Promise<void> {
    await Promise.all(this.made.splice(0).map((s) => teardown(s)));
  }
}

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogNotification, ShutdownRequest } from '../protocol/daemon';
import { AlertNotification } from '../protocol/budget';
import { ErrorCodes, ExitCodes } from '../protocol/errors';
import { lockPathFor, socketPathFromEnv } from '../protocol/paths';
import { SocketUnreachableError } from '../protocol/socket';
import { RpcError, openSession, type Session } from './rpc';
import { PACKAGE_ROOT, clientVersion } from './version';

/** A failure the CLI reports with this exit code and message, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function socketPath(): string {
  return socketPathFromEnv(process.env, process.getuid?.() ?? 0);
}

function autostartDisabled(): boolean {
  const value = process.env.AID_NO_AUTOSTART;
  return value !== undefined && value !== '' && value !== '0';
}

/** Runs `aid start` (which returns once the socket answers) and relays its errors. */
function startDaemon(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'daemon', 'bin', 'aid.js'), 'start'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new CliError(`could not start aid: ${error.message}`, ExitCodes.failure)));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new CliError(`could not start aid: ${stderr.trim().replace(/^aid: /, '') || `exit code ${code}`}`, ExitCodes.failure));
    });
  });
}

/**
 * The old daemon is gone once its lock no longer names it (released as the last step of its
 * shutdown) or the process has ended. The process check alone is not enough: a detached daemon
 * can linger as a zombie when nothing reaps it.
 */
function gone(socket: string, pid: number): boolean {
  try {
    if (Number.parseInt(fs.readFileSync(lockPathFor(socket), 'utf8'), 10) !== pid) return true;
  } catch {
    return true;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function waitUntilGone(socket: string, pid: number): Promise<void> {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (gone(socket, pid)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new CliError(`the old aid daemon (pid ${pid}) on ${socket} did not stop; stop it with \`aid stop\``, ExitCodes.failure);
}

/**
 * A socket that accepts but has not answered yet is a daemon starting (systemd socket activation
 * starts it on this very connection) or busy: it gets this long to answer the handshake. A socket
 * nobody listens on fails at once, so an absent daemon costs no wait.
 */
const HANDSHAKE_WAIT_MS = 10_000;

async function tryOpen(socket: string): Promise<Session | 'absent' | { mismatch: string; pid?: number }> {
  try {
    const session = await openSession(socket, clientVersion(), HANDSHAKE_WAIT_MS);
    if (session.daemon.daemonVersion !== clientVersion()) {
      const mismatch = `daemon ${session.daemon.daemonVersion}, client ${clientVersion()}`;
      if (autostartDisabled()) {
        session.close();
        return { mismatch, pid: session.daemon.pid };
      }
      // Ask it to go; a new daemon of our build replaces it.
      await session.rpc
        .request(ShutdownRequest, { reason: `client ${clientVersion()} replaces daemon ${session.daemon.daemonVersion}` })
        .catch(() => undefined);
      session.close();
      process.stderr.write(`aic: restarting aid (${mismatch})\n`);
      await waitUntilGone(socket, session.daemon.pid);
      return 'absent';
    }
    return session;
  } catch (error) {
    if (error instanceof SocketUnreachableError) {
      if (error.code === 'EACCES') throw new CliError(error.message, ExitCodes.daemonUnreachable);
      return 'absent';
    }
    if (error instanceof RpcError && error.code === ErrorCodes.VersionMismatch) {
      const data = error.data as { daemonVersion?: string } | undefined;
      return { mismatch: `daemon ${data?.daemonVersion ?? '?'} speaks another protocol` };
    }
    throw error;
  }
}

/**
 * A handshaken session with a daemon of this build: starts one when none answers (unless
 * AID_NO_AUTOSTART=1), and replaces one of another build.
 */
export async function connectDaemon(): Promise<Session> {
  const socket = socketPath();
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await tryOpen(socket);
    if (typeof result === 'object' && 'rpc' in result) {
      // What the daemon wants the user to know (a rejected config) while a command runs.
      result.rpc.onNotification(LogNotification, (log) => process.stderr.write(`aid: ${log.level}: ${log.message}\n`));
      // Budget alerts reach whatever aic is running when they fire.
      result.rpc.onNotification(AlertNotification, (alert) => process.stderr.write(`aid: ${alert.kind === 'report' ? 'report' : 'alert'}: ${alert.message}\n`));
      return result;
    }
    if (autostartDisabled()) {
      const why = result === 'absent' ? `no aid daemon answers on ${socket}` : `the running aid has another version (${result.mismatch})`;
      throw new CliError(
        `${why}. Start it with \`aid ${result === 'absent' ? 'start' : 'restart'}\`, or unset AID_NO_AUTOSTART to let aic do it.`,
        ExitCodes.daemonUnreachable,
      );
    }
    if (result !== 'absent') {
      // A daemon of another protocol cannot be asked over RPC; its lock file names its pid.
      const pid = Number.parseInt(fs.readFileSync(lockPathFor(socket), 'utf8'), 10);
      if (!Number.isFinite(pid)) throw new CliError(`the running aid speaks another protocol (${result.mismatch}); run \`aid restart\``, ExitCodes.failure);
      process.stderr.write(`aic: restarting aid (${result.mismatch})\n`);
      process.kill(pid, 'SIGTERM');
      await waitUntilGone(socket, pid);
    }
    await startDaemon();
  }
  throw new CliError(`aid started but does not answer on ${socket}; see the log in $XDG_STATE_HOME/aid/aid.log`, ExitCodes.daemonUnreachable);
}

/** Runs `work` with a handshaken session (starting the daemon if need be), and always closes it. */
export async function withDaemon<T>(work: (session: Session) => Promise<T>): Promise<T> {
  const session = await connectDaemon();
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

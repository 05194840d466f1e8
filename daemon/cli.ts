import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ShutdownRequest, StatusRequest, ReloadRequest, type StoreIncident } from '../protocol/daemon';
import { ExitCodes } from '../protocol/errors';
import { openSession, type Session } from '../protocol/transport';
import { resolvePaths, type AidPaths } from './config/paths';
import { PidLock, lockSocket } from './server/lock';
import { openStarterOutput, StartReport } from './start-report';
import { installUnits, packageRoot } from './service';
import { readVersion } from './version';

const HELP = `aid — the aid daemon (AI development assistant)

Usage:
  aid start [--foreground]   start the daemon (detached unless --foreground); prints the socket path
  aid stop                   stop the daemon (ordered shutdown)
  aid restart                stop, then start
  aid status [--json]        is it running: version, pid, uptime, socket, hosts
  aid reload                 re-read the config file (the daemon keeps the old one if the new is invalid)
  aid install-service        write the systemd user units and print how to enable them
  aid --version | --help

Environment: AID_SOCKET, AID_CONFIG, AID_DATA_DIR, AID_STATE_DIR (see README.md).
Logs: $XDG_STATE_HOME/aid/aid.log`;

const say = (line: string): void => {
  process.stderr.write(line + '\n');
};

async function trySession(paths: AidPaths, timeoutMs = 1000): Promise<Session | undefined> {
  try {
    return await openSession(paths.socket, readVersion(), 'aid-cli', timeoutMs);
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie: a detached daemon is reaped by init, which may be slow or absent. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** aid status's line for a store that vanished while the daemon ran; nothing when all is well. */
function storeIncidentLine(incident: StoreIncident | undefined): string {
  if (!incident) return '';
  return `        ${incident.recovered ? 'written back' : 'NOT ON DISK'} (noticed ${incident.detectedAt}): ${incident.message}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startForeground(paths: AidPaths): Promise<number> {
  // Set only when `aid start` spawned us: how it learns why this start failed.
  const report = StartReport.fromEnv(process.env);
  const fail = (message: string, code: number): number => {
    say(`aid: ${message}`);
    report?.send(`aid: ${message}`);
    return code;
  };
  // The lock before anything heavy: of many concurrent starts, the losers stop at once.
  let lock: ReturnType<typeof lockSocket>;
  try {
    lock = lockSocket(paths.socket, paths.lockFile, process.getuid?.() ?? 0);
  } catch (error) {
    return fail((error as Error).message, 1);
  }
  if (!lock.acquired) return fail(`aid is already running${lock.pid ? ` (pid ${lock.pid})` : ''} on ${paths.socket}`, 0);
  // Loaded only here so `aid stop`/`aid status` stay light.
  const { runDaemon, StartupError } = require('./main') as typeof import('./main');
  let daemon: Awaited<ReturnType<typeof runDaemon>>;
  try {
    daemon = await runDaemon({ paths, env: process.env, version: readVersion(), logToStderr: process.env.AID_LOG_STDERR !== '0', lock: lock.lock });
  } catch (error) {
    return fail((error as Error).message, error instanceof StartupError ? error.exitCode : 1);
  }
  report?.close();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void daemon.shutdown(`signal ${signal}`));
  }
  process.on('uncaughtException', (error) => {
    say(`aid: fatal: ${error.stack ?? error.message}`);
    void daemon.shutdown('fatal error').finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (reason) => {
    say(`aid: unhandled rejection: ${String(reason)}`);
  });
  return daemon.done;
}

/**
 * Detaches a foreground daemon and returns once its socket answers the handshake. Its output is
 * appended to $STATE/aid.out (every starter's, never truncated); why it failed, if it did, comes
 * back through a pipe of this starter's own, so concurrent starters never show each other's.
 */
async function startDetached(paths: AidPaths): Promise<number> {
  const running = await trySession(paths);
  if (running) {
    running.close();
    say(`aid is already running (pid ${running.daemon.pid})`);
    process.stdout.write(paths.socket + '\n');
    return 0;
  }
  let output: ReturnType<typeof openStarterOutput>;
  try {
    output = openStarterOutput(paths.stateDir);
  } catch (error) {
    say(`aid: ${(error as Error).message}`);
    return 1;
  }
  const child = spawn(process.execPath, [path.join(packageRoot(), 'daemon', 'bin', 'aid.js'), 'start', '--foreground'], {
    detached: true,
    stdio: ['ignore', output.fd, output.fd, 'pipe'],
    env: { ...process.env, AID_LOG_STDERR: '0', ...StartReport.env(3) },
  });
  fs.closeSync(output.fd);
  const report = StartReport.read(child);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + 15000;
  for (let wait = 10; Date.now() < deadline; wait = Math.min(wait * 2, 200)) {
    const session = await trySession(paths, 500);
    if (session) {
      session.close();
      say(`aid started (pid ${session.daemon.pid})`);
      process.stdout.write(paths.socket + '\n');
      return 0;
    }
    if (exited !== undefined) {
      const message = (await report).trim();
      // Exit 0 before answering: another daemon holds the lock (a concurrent start); wait for it
      // while it lives, not for a daemon that is gone.
      if (exited === 0 && /already running/.test(message)) {
        if (PidLock.holder(paths.lockFile) !== undefined) {
          await sleep(wait);
          continue;
        }
        say(`aid: the daemon that won the start exited before answering; see ${paths.logFile} and ${output.file}`);
        return 1;
      }
      say(message || `aid: the daemon exited with code ${exited} before answering; its output is in ${output.file}, its log in ${paths.logFile}`);
      return exited || 1;
    }
    await sleep(wait);
  }
  say(`aid: the daemon did not answer on ${paths.socket} within 15 s; see ${paths.logFile}`);
  return 1;
}

async function stop(paths: AidPaths): Promise<number> {
  const session = await trySession(paths);
  let pid: number | undefined;
  if (session) {
    pid = session.daemon.pid;
    await session.connection.sendRequest(ShutdownRequest, { reason: 'aid stop' }).catch(() => undefined);
    session.close();
  } else {
    // Not answering, but maybe alive (stuck): the live holder of the lock is the daemon. A pid
    // merely written in the file may since belong to any other program.
    pid = PidLock.holder(paths.lockFile);
    if (pid === undefined) {
      say('aid is not running');
      return 0;
    }
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (PidLock.holder(paths.lockFile) !== pid && !isRunning(pid)) {
      say(`aid stopped (pid ${pid})`);
      return 0;
    }
    await sleep(25);
  }
  say(`aid: pid ${pid} did not stop within 15 s; kill it with \`kill -9 ${pid}\``);
  return 1;
}

async function status(paths: AidPaths, json: boolean): Promise<number> {
  const session = await trySession(paths);
  if (!session) {
    if (json) process.stdout.write(JSON.stringify({ running: false, socket: paths.socket }) + '\n');
    else say(`aid is not running (no answer on ${paths.socket}); start it with \`aid start\``);
    return ExitCodes.daemonUnreachable;
  }
  try {
    const result = await session.connection.sendRequest(StatusRequest);
    if (json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      const up = result.hosts.filter((h) => h.health === 'up').map((h) => h.name);
      process.stdout.write(
        `aid ${result.version} running, pid ${result.pid}, up ${Math.round(result.uptimeMs / 1000)} s\n` +
          `socket  ${result.socket}\nconfig  ${result.config.file}${result.config.error ? ` (rejected: ${result.config.error})` : ''}\n` +
          `data    ${result.store.path} (${result.store.requests} requests)\n${storeIncidentLine(result.store.incident)}` +
          `hosts   ${up.length ? `${up.join(', ')} up` : 'none up'} — \`aic hosts\` for details\n`,
      );
    }
    return 0;
  } finally {
    session.close();
  }
}

async function reload(paths: AidPaths): Promise<number> {
  const session = await trySession(paths);
  if (!session) {
    say(`aid is not running (no answer on ${paths.socket})`);
    return ExitCodes.daemonUnreachable;
  }
  try {
    const result = await session.connection.sendRequest(ReloadRequest);
    if (result.ok) {
      say(`config reloaded from ${result.file}`);
      return 0;
    }
    say(`config ${result.file} rejected; the daemon keeps its last good config:\n${(result.issues ?? []).map((i) => `  - ${i}`).join('\n')}`);
    return 1;
  } finally {
    session.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = new Set(rest);
  if (command === '--version' || command === '-v') {
    process.stdout.write(readVersion() + '\n');
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command === undefined ? ExitCodes.usage : 0;
  }
  const paths = resolvePaths();
  switch (command) {
    case 'start':
      return flags.has('--foreground') ? startForeground(paths) : startDetached(paths);
    case 'stop':
      return stop(paths);
    case 'restart': {
      const stopped = await stop(paths);
      return stopped === 0 ? startDetached(paths) : stopped;
    }
    case 'status':
      return status(paths, flags.has('--json'));
    case 'reload':
      return reload(paths);
    case 'install-service': {
      const { dir, files } = installUnits(process.env);
      process.stdout.write(
        `wrote ${files.join(' and ')}\n\nEnable with:\n  systemctl --user daemon-reload\n  systemctl --user enable --now aid.socket    # start aid on ` +
          `first use\n` +
          `  systemctl --user enable --now aid.service   # or: start it at login\n\nAPI keys for the service go in ~/.config/aid/env (VAR=value ` +
          `lines). Units in ${dir}.\n`,
      );
      return 0;
    }
    default:
      say(`aid: unknown command '${command}'\n\n${HELP}`);
      return ExitCodes.usage;
  }
}

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ShutdownRequest, StatusRequest, ReloadRequest } from '../protocol/daemon';
import { ExitCodes } from '../protocol/errors';
import { openSession, type Session } from '../protocol/transport';
import { resolvePaths, type AidPaths } from './config/paths';
import { PidLock, isAidProcess } from './server/lock';
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startForeground(paths: AidPaths): Promise<number> {
  // Loaded only here so `aid stop`/`aid status` stay light.
  const { runDaemon, StartupError } = require('./main') as typeof import('./main');
  let daemon: Awaited<ReturnType<typeof runDaemon>>;
  try {
    daemon = await runDaemon({ paths, env: process.env, version: readVersion(), logToStderr: process.env.AID_LOG_STDERR !== '0' });
  } catch (error) {
    say(`aid: ${(error as Error).message}`);
    return error instanceof StartupError ? error.exitCode : 1;
  }
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
  await daemon.done;
  return 0;
}

/** Detaches a foreground daemon and returns once its socket answers the handshake. */
async function startDetached(paths: AidPaths): Promise<number> {
  const running = await trySession(paths);
  if (running) {
    running.close();
    say(`aid is already running (pid ${running.daemon.pid})`);
    process.stdout.write(paths.socket + '\n');
    return 0;
  }
  fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const outFile = path.join(paths.stateDir, 'aid.out');
  const out = fs.openSync(outFile, 'w', 0o600);
  const child = spawn(process.execPath, [path.join(packageRoot(), 'daemon', 'bin', 'aid.js'), 'start', '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, AID_LOG_STDERR: '0' },
  });
  fs.closeSync(out);
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
      const output = fs.readFileSync(outFile, 'utf8').trim();
      // Exit 0 before answering means another daemon won the lock between our probe and its start.
      if (exited === 0 && /already running/.test(output)) continue;
      say(output || `aid: the daemon exited with code ${exited}; see ${paths.logFile}`);
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
    // Not answering, but maybe alive (stuck): the lock names it.
    pid = PidLock.holder(paths.lockFile);
    if (pid === undefined || !isAidProcess(pid)) {
      say('aid is not running');
      return 0;
    }
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (!isAidProcess(pid)) {
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
          `data    ${result.store.path} (${result.store.requests} requests)\nhosts   ${up.length ? `${up.join(', ')} up` : 'none up'} — \`aic hosts\` for details\n`,
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
        `wrote ${files.join(' and ')}\n\nEnable with:\n  systemctl --user daemon-reload\n  systemctl --user enable --now aid.socket    # start aid on first use\n` +
          `  systemctl --user enable --now aid.service   # or: start it at login\n\nAPI keys for the service go in ~/.config/aid/env (VAR=value lines). Units in ${dir}.\n`,
      );
      return 0;
    }
    default:
      say(`aid: unknown command '${command}'\n\n${HELP}`);
      return ExitCodes.usage;
  }
}

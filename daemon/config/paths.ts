import * as os from 'node:os';
import * as path from 'node:path';
import { lockPathFor, socketPathFromEnv, stateDirFromEnv } from '../../protocol/paths';

/** Where the daemon keeps its files, resolved from the environment (XDG, then aid's overrides). */
export interface AidPaths {
  socket: string;
  configFile: string;
  dataDir: string;
  stateDir: string;
  /** Holds the pid of the daemon serving `socket`; beside the socket so it is per socket. */
  lockFile: string;
  /** {pid, socket, version} of the running daemon. */
  registrationFile: string;
  logFile: string;
}

type Env = Record<string, string | undefined>;

function xdg(env: Env, name: string, fallback: string): string {
  const value = env[name];
  // XDG says relative values are invalid and must be ignored.
  return value && path.isAbsolute(value) ? value : fallback;
}

export function resolvePaths(env: Env = process.env, home = os.homedir(), uid = process.getuid?.() ?? 0): AidPaths {
  const socket = socketPathFromEnv(env, uid);
  const configHome = xdg(env, 'XDG_CONFIG_HOME', path.join(home, '.config'));
  const dataHome = xdg(env, 'XDG_DATA_HOME', path.join(home, '.local', 'share'));
  const stateDir = stateDirFromEnv(env, home);
  return {
    socket,
    configFile: path.resolve(env.AID_CONFIG || path.join(configHome, 'aid', 'config.json')),
    dataDir: path.resolve(env.AID_DATA_DIR || path.join(dataHome, 'aid')),
    stateDir,
    lockFile: lockPathFor(socket),
    registrationFile: path.join(stateDir, 'aid.json'),
    logFile: path.join(stateDir, 'aid.log'),
  };
}

import * as fs from 'node:fs';
import * as net from 'node:net';
import { PrivateDirError, preparePrivateDir } from '../files/private-dir';

/** sun_path is 108 bytes on Linux including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export class SocketSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SocketSetupError';
  }
}

export function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new SocketSetupError(
      `socket path is ${bytes} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ${socketPath}\n` +
        'Set AID_SOCKET (or XDG_RUNTIME_DIR) to a shorter path, e.g. AID_SOCKET=/tmp/aid-$UID/aid.sock',
    );
  }
}

/**
 * Makes sure the socket's directory exists, belongs to us and is private (0700). A directory
 * owned by someone else is refused: whoever owns it could swap our socket for theirs.
 */
export function prepareSocketDir(dir: string, uid: number): void {
  try {
    preparePrivateDir(dir, uid, { what: 'socket directory', envVar: 'AID_SOCKET' });
  } catch (error) {
    throw error instanceof PrivateDirError ? new SocketSetupError(error.message) : error;
  }
}

/** Resolves true when something accepts connections on the socket path. */
export function socketAnswers(socketPath: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What is at a path, in words for a message that says what to do about it. */
function describeEntry(socketPath: string, stat: fs.Stats): string {
  if (stat.isSymbolicLink()) {
    const target = fs.readlinkSync(socketPath);
    return `a symbolic link to ${target}${fs.existsSync(socketPath) ? '' : ' (which does not exist)'}`;
  }
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  return 'not a socket';
}

/**
 * Clears the socket path before binding. Only a socket is ever removed, and only one that nobody
 * answers on (left by a daemon that died; we hold the lock, so no live daemon of ours is behind
 * it). Anything else at the path (a file, a directory, a symlink, dangling or not) is the user's:
 * refused with what is there and what to do.
 */
export async function removeStaleSocket(socketPath: string): Promise<boolean> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (!stat.isSocket()) {
    throw new SocketSetupError(
      `${socketPath} is ${describeEntry(socketPath, stat)}, not aid's socket; aid removes nothing at its socket path but a dead socket. ` +
        `Move it away (\`mv ${socketPath} ...\`) or set AID_SOCKET to another path.`,
    );
  }
  if (await socketAnswers(socketPath)) {
    throw new SocketSetupError(`another process is listening on ${socketPath}; stop it or set AID_SOCKET elsewhere`);
  }
  // Removed only if it is still the very socket found dead above.
  const again = fs.lstatSync(socketPath);
  if (again.ino !== stat.ino || again.dev !== stat.dev) throw new SocketSetupError(`${socketPath} changed while aid was starting; try again`);
  fs.unlinkSync(socketPath);
  return true;
}

/** The socket file this daemon bound: what it may remove, and how it knows the path is still its own. */
export interface BoundSocket {
  path: string;
  dev: number;
  ino: number;
}

/** True while `bound.path` is still the socket file we bound (not removed, not replaced). */
export function isOurSocket(bound: BoundSocket): boolean {
  try {
    const stat = fs.lstatSync(bound.path);
    return stat.isSocket() && stat.ino === bound.ino && stat.dev === bound.dev;
  } catch {
    return false;
  }
}

/** Removes the socket file if it is still the one we bound; someone else's is left alone. */
export function removeOurSocket(bound: BoundSocket): boolean {
  if (!isOurSocket(bound)) return false;
  fs.unlinkSync(bound.path);
  return true;
}

/** Binds the server to the path with mode 0600 from the first moment (umask, not a later chmod). */
export function listenOnPath(server: net.Server, socketPath: string): Promise<BoundSocket> {
  return new Promise((resolve, reject) => {
    const previous = process.umask(0o177);
    const restore = (): void => {
      process.umask(previous);
    };
    server.once('error', (error) => {
      restore();
      reject(error);
    });
    server.listen(socketPath, () => {
      restore();
      // We hold the lock, so what is at the path now is the socket we just bound.
      const stat = fs.lstatSync(socketPath);
      fs.chmodSync(socketPath, 0o600);
      resolve({ path: socketPath, dev: stat.dev, ino: stat.ino });
    });
  });
}

/** The listening fd systemd handed us (LISTEN_FDS/LISTEN_PID protocol), if any. */
export function systemdListenFd(env: Record<string, string | undefined>, pid: number): number | undefined {
  if (env.LISTEN_PID && Number(env.LISTEN_PID) !== pid) return undefined;
  const count = Number(env.LISTEN_FDS ?? '0');
  return count >= 1 ? 3 : undefined;
}

export function listenOnFd(server: net.Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => resolve());
  });
}

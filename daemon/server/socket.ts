import * as fs from 'node:fs';
import * as net from 'node:net';

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
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SocketSetupError(`cannot create the socket directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory()) throw new SocketSetupError(`${dir} is not a directory; set AID_SOCKET to a path in a directory you own`);
  if (stat.uid !== uid) {
    throw new SocketSetupError(
      `refusing to use socket directory ${dir}: it belongs to uid ${stat.uid}, not to you (uid ${uid}). Remove it or set AID_SOCKET elsewhere.`,
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new SocketSetupError(
      `refusing to use socket directory ${dir}: mode ${(stat.mode & 0o777).toString(8)} lets other users in. Run \`chmod 700 ${dir}\` or set AID_SOCKET to a path in a private directory.`,
    );
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

/**
 * Removes a socket file left by a daemon that died without cleaning up. Only called while we hold
 * the lock, so a live daemon cannot be behind it; still, a socket that answers is never removed.
 */
export async function removeStaleSocket(socketPath: string): Promise<boolean> {
  if (!fs.existsSync(socketPath)) return false;
  if (await socketAnswers(socketPath)) {
    throw new SocketSetupError(`another process is listening on ${socketPath}; stop it or set AID_SOCKET elsewhere`);
  }
  fs.unlinkSync(socketPath);
  return true;
}

/** Binds the server to the path with mode 0600 from the first moment (umask, not a later chmod). */
export function listenOnPath(server: net.Server, socketPath: string): Promise<void> {
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
      fs.chmodSync(socketPath, 0o600);
      resolve();
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

import * as path from 'node:path';

/**
 * The socket path is part of the user-facing contract, so the rule lives here where both the
 * daemon and every client read it: AID_SOCKET, else $XDG_RUNTIME_DIR/aid/aid.sock, else
 * /tmp/aid-$UID/aid.sock.
 */
export function socketPathFromEnv(env: Record<string, string | undefined>, uid: number): string {
  if (env.AID_SOCKET) return path.resolve(env.AID_SOCKET);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'aid', 'aid.sock');
  return path.join('/tmp', `aid-${uid}`, 'aid.sock');
}

/** The lock file beside the socket holds the pid of the daemon serving it. */
export function lockPathFor(socket: string): string {
  return `${socket}.lock`;
}

/**
 * Logs, registration and the chat input history: AID_STATE_DIR, else $XDG_STATE_HOME/aid, else
 * ~/.local/state/aid. XDG says relative values are invalid and must be ignored.
 */
export function stateDirFromEnv(env: Record<string, string | undefined>, home: string): string {
  if (env.AID_STATE_DIR) return path.resolve(env.AID_STATE_DIR);
  const stateHome = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(stateHome, 'aid');
}

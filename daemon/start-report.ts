import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ENV = 'AID_START_REPORT_FD';

/**
 * How a detached `aid start` learns why its own daemon did not come up: the daemon writes the
 * message to a pipe the starter handed it (fd named by AID_START_REPORT_FD), and closes the pipe
 * once it serves. Concurrent starters share aid.out but each reads only its own daemon's word.
 */
export class StartReport {
  private closed = false;

  private constructor(private readonly fd: number) {}

  /** The environment that tells the daemon which of its fds is the report pipe. */
  static env(fd: number): Record<string, string> {
    return { [ENV]: String(fd) };
  }

  /** The daemon's side; undefined unless `aid start` spawned it. Children of the daemon do not inherit it. */
  static fromEnv(env: NodeJS.ProcessEnv): StartReport | undefined {
    const fd = Number(env[ENV]);
    delete env[ENV];
    // Under systemd, fd 3 is the listening socket: never take it for a report pipe.
    if (!Number.isInteger(fd) || fd < 3 || env.LISTEN_FDS) return undefined;
    return new StartReport(fd);
  }

  send(message: string): void {
    try {
      fs.writeSync(this.fd, message + '\n');
    } catch {
      // The starter is gone (EPIPE): the message is in aid.out all the same.
    }
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  /** The starter's side: everything the daemon wrote on the pipe (fd 3 of `child`) until it closed it. */
  static read(child: ChildProcess): Promise<string> {
    const pipe = child.stdio[3];
    if (!pipe || !('on' in pipe)) return Promise.resolve('');
    return new Promise((resolve) => {
      let text = '';
      pipe.on('data', (d: Buffer) => (text += d.toString()));
      pipe.on('error', () => resolve(text));
      pipe.on('close', () => resolve(text));
    });
  }
}

/**
 * Opens $STATE/aid.out for a starter's daemon: appended to (concurrent and earlier starters' output
 * is kept), 0600, and never through a symlink (whose target would get the daemon's output).
 */
export function openStarterOutput(stateDir: string): { fd: number; file: string } {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'aid.out');
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(
        `${file} is a symbolic link; aid writes its daemon's output only to a file of its own there. Remove the link (\`rm ${file}\`) and start again.`,
      );
    }
    throw error;
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new Error(`${file} is not a regular file; remove it and start again`);
  }
  fs.writeSync(fd, `--- aid start (starter pid ${process.pid}) ${new Date().toISOString()}\n`);
  return { fd, file };
}

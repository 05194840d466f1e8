import * as fs from 'node:fs';
import * as path from 'node:path';
import { tryLock } from 'fs-native-extensions';
import { checkSocketPathLength, prepareSocketDir } from './socket';

export type LockResult = { acquired: true; lock: PidLock } | { acquired: false; pid: number | undefined };

/** Opens the lock file itself, never a file a symlink points to. */
function openLockFile(file: string, create: boolean): number {
  const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
  try {
    return fs.openSync(file, O_RDWR | O_NOFOLLOW | (create ? O_CREAT : 0), 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(`${file} is a symbolic link; aid's lock must be a file of its own: remove the link (\`rm ${file}\`)`);
    }
    throw error;
  }
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

/** An exclusive lock on the open file, or false when another open file holds it. */
function tryExclusive(fd: number): boolean {
  try {
    return tryLock(fd);
  } catch (error) {
    // fcntl reports a conflicting lock as EAGAIN or EACCES.
    if ((error as NodeJS.ErrnoException).code === 'EACCES') return false;
    throw error;
  }
}

function readPid(fd: number): number | undefined {
  const buffer = Buffer.alloc(32);
  const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
  const pid = Number.parseInt(buffer.subarray(0, length).toString('utf8').trim(), 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

/**
 * One daemon per socket: an exclusive lock on `<socket>.lock` held through an open-file-description
 * lock (fcntl F_OFD_SETLK, via fs-native-extensions). The kernel drops it when its holder dies,
 * kill -9 included, so there is no stale lock to judge, no pid to trust, and no read-then-unlink
 * race between starters: exactly one open file can hold it. The pid written into the file is for
 * people and `aid stop`, never for deciding who holds the lock.
 *
 * The lock is on the file the path names. Its holder removes the file before letting go, so a
 * starter that opened the file just before must notice that the path now names another file (or
 * none) and try again; otherwise two starters could each hold a lock on a different file.
 */
export class PidLock {
  private released = false;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly identity: fs.Stats,
  ) {}

  static acquire(file: string, pid = process.pid): LockResult {
    // Each retry means a holder let go between our open and our look at the path; a few suffice.
    for (let attempt = 0; attempt < 50; attempt++) {
      const fd = openLockFile(file, true);
      let keep = false;
      try {
        const identity = fs.fstatSync(fd);
        if (!identity.isFile()) throw new Error(`${file} is not a regular file; remove it so aid can keep its lock there`);
        const locked = tryExclusive(fd);
        // The path no longer names what we opened: its holder is letting go (it removes the file
        // first), or released before we locked. Either way the lock to take is the new file's.
        if (!PidLock.names(file, identity)) continue;
        if (!locked) return { acquired: false, pid: readPid(fd) };
        fs.ftruncateSync(fd, 0);
        fs.writeSync(fd, `${pid}\n`, 0);
        // A lock file left by an older aid may be wider; ours is 0600.
        fs.fchmodSync(fd, 0o600);
        keep = true;
        return { acquired: true, lock: new PidLock(file, fd, identity) };
      } finally {
        if (!keep) fs.closeSync(fd);
      }
    }
    throw new Error(`could not take the lock ${file}: it kept changing; is something removing it?`);
  }

  /** True when `file` is the very file `identity` describes. */
  private static names(file: string, identity: fs.Stats): boolean {
    try {
      return sameFile(fs.lstatSync(file), identity);
    } catch {
      return false;
    }
  }

  /**
   * The pid of the live daemon holding the lock, or undefined when nobody holds it. Asks the
   * kernel through /proc/locks rather than taking the lock, so it never makes a starting daemon
   * think the lock is taken.
   */
  static holder(file: string): number | undefined {
    let fd: number;
    try {
      fd = openLockFile(file, false);
    } catch {
      return undefined;
    }
    try {
      return isLocked(fs.fstatSync(fd)) ? readPid(fd) : undefined;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** False once the lock file was removed or replaced under us (someone deleted the socket directory). */
  get held(): boolean {
    return !this.released && PidLock.names(this.file, this.identity);
  }

  /** Removes the file while still holding it, then lets go (see the class comment). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (PidLock.names(this.file, this.identity)) fs.rmSync(this.file, { force: true });
    fs.closeSync(this.fd);
  }
}

/**
 * True when some open file holds a lock on this file, from /proc/locks: "1: OFDLCK ADVISORY WRITE
 * -1 08:01:123456 0 EOF", the device as hex major:minor and the inode in decimal.
 */
function isLocked(stat: fs.Stats): boolean {
  const major = Math.floor(stat.dev / 256) & 0xfff;
  const minor = (stat.dev & 0xff) | (Math.floor(stat.dev / 4096) & 0xfff00);
  const key = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${stat.ino}`;
  let locks: string;
  try {
    locks = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    // No /proc here: say nobody holds it rather than name a pid that may be anyone's.
    return false;
  }
  return locks.split('\n').some((line) => line.split(/\s+/).includes(key));
}

/**
 * The lock of the daemon serving `socket`. The socket path's checks come first, so their errors
 * are about the path, not the lock.
 */
export function lockSocket(socket: string, lockFile: string, uid: number): LockResult {
  checkSocketPathLength(socket);
  prepareSocketDir(path.dirname(socket), uid);
  return PidLock.acquire(lockFile);
}

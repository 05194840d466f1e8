import * as fs from 'node:fs';

export type LockResult = { acquired: true; lock: PidLock } | { acquired: false; pid: number };

/** True when `pid` is a running process that looks like an aid daemon. */
export function isAidProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but is someone else's; treat as alive, never steal it.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A recycled pid belongs to some other program; /proc tells us cheaply on Linux.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /aid/.test(cmdline);
  } catch {
    return true;
  }
}

/**
 * One daemon per socket: a lock file created with O_EXCL holding the owner's pid. A lock whose
 * pid is dead (kill -9, crash) is stale and taken over.
 */
export class PidLock {
  private released = false;

  private constructor(readonly file: string) {}

  static acquire(file: string, pid = process.pid): LockResult {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o600);
        fs.writeSync(fd, `${pid}\n`);
        fs.closeSync(fd);
        return { acquired: true, lock: new PidLock(file) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = PidLock.holder(file);
      if (holder !== undefined && holder !== pid && isAidProcess(holder)) return { acquired: false, pid: holder };
      // Stale: remove and try again. Two starters racing here both retry O_EXCL; one wins.
      try {
        fs.unlinkSync(file);
      } catch {
        /* someone else removed it first */
      }
    }
    throw new Error(`could not acquire the lock ${file}; remove it if no aid daemon is running`);
  }

  static holder(file: string): number | undefined {
    try {
      const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
      return Number.isFinite(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (PidLock.holder(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}

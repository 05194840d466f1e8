import * as fs from 'node:fs';

/**
 * Opening files without following a link: O_NOFOLLOW refuses a link in the last component, and
 * O_NONBLOCK keeps a FIFO from holding the daemon up (regular files ignore it).
 */
export const NO_FOLLOW = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** The path an open descriptor refers to (Linux's /proc), or undefined where it cannot be told. */
export function openedPath(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** A small regular file's text (a .gitignore), read without following a link; undefined otherwise. */
export function readSmallFileNoFollow(abs: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(abs, NO_FOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    return stat.isFile() && stat.size <= maxBytes ? fs.readFileSync(fd, 'utf8') : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

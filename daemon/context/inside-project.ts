import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSecretPath, looksIndexable, MAX_FILE_BYTES } from './file-filter';
import { NO_FOLLOW, openedPath } from './no-follow';

/**
 * Reading a project's files without following a link out of it. A path's checks (inside the
 * project, not a credentials file) are made on where it really leads (fs.realpath) as well as on
 * its own name, and the file is then opened with O_NOFOLLOW and checked again by what was opened
 * (fstat, and on Linux the descriptor's own path), so a link swapped in after the check is not
 * followed either.
 */

/** Why a file is not sent. */
export type Refusal = 'outside' | 'secret' | 'not-a-file' | 'too-big' | 'binary' | 'unreadable';

export interface RefusedFile {
  reason: Refusal;
  /** The name given is a link (or lies below one): the reason is about what it leads to. */
  viaLink: boolean;
}

/** Said to the user for a file named by hand and not sent: why, never what is in it. */
export function describeRefusal(r: RefusedFile): string {
  switch (r.reason) {
    case 'outside':
      return r.viaLink ? 'a link to a file outside the project' : 'outside the project';
    case 'secret':
      return r.viaLink ? 'a link to a credentials file' : 'a credentials file';
    case 'not-a-file':
      return 'not a regular file';
    case 'too-big':
      return `over ${MAX_FILE_BYTES / 1024} KiB`;
    case 'binary':
      return 'binary or minified';
    case 'unreadable':
      return 'could not be read';
  }
}

/** `abs` relative to `root` with '/' separators ('' for the root itself), or undefined when it is not below the root. */
export function relativeInside(root: string, abs: string): string | undefined {
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * Where a path named in a project (relative to `root`, or absolute) really leads, if it may be
 * read: below the root by its name and by its real path, and a credentials file by neither.
 * `root` must be a real path (ContextEngine.rootOf gives one).
 */
export function resolveInProject(root: string, name: string): { rel: string; abs: string } | RefusedFile {
  const abs = path.resolve(root, name);
  const named = relativeInside(root, abs);
  if (named === undefined) return { reason: 'outside', viaLink: false };
  if (isSecretPath(named)) return { reason: 'secret', viaLink: false };
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return { reason: 'unreadable', viaLink: false };
  }
  const viaLink = real !== abs;
  const rel = relativeInside(root, real);
  if (rel === undefined) return { reason: 'outside', viaLink };
  if (isSecretPath(rel)) return { reason: 'secret', viaLink };
  return { rel, abs: real };
}

/** What an opened file may not be: not a regular file, or (by the path really opened) outside the root or a credentials file. */
function refusalOfOpened(root: string, fd: number, stat: fs.Stats): RefusedFile | undefined {
  if (!stat.isFile()) return { reason: 'not-a-file', viaLink: false };
  const opened = openedPath(fd);
  if (opened === undefined) return undefined;
  const rel = relativeInside(root, opened);
  if (rel === undefined) return { reason: 'outside', viaLink: true };
  if (isSecretPath(rel)) return { reason: 'secret', viaLink: true };
  return undefined;
}

export function isRefusal(x: object): x is RefusedFile {
  return 'reason' in x;
}

/**
 * A file's text for a question, read from `abs` (a real path inside `root`, see resolveInProject)
 * without following a link: a regular file, not over MAX_FILE_BYTES, not binary or minified.
 */
export function readTextInProject(root: string, abs: string): { text: string } | RefusedFile {
  let fd: number;
  try {
    fd = fs.openSync(abs, NO_FOLLOW);
  } catch (error) {
    // ELOOP: the path became a link after it was checked.
    return { reason: (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'outside' : 'unreadable', viaLink: true };
  }
  try {
    const stat = fs.fstatSync(fd);
    const refused = refusalOfOpened(root, fd, stat);
    if (refused) return refused;
    if (stat.size > MAX_FILE_BYTES) return { reason: 'too-big', viaLink: false };
    const buf = fs.readFileSync(fd);
    if (buf.length > MAX_FILE_BYTES) return { reason: 'too-big', viaLink: false };
    return looksIndexable(buf) ? { text: buf.toString('utf8') } : { reason: 'binary', viaLink: false };
  } catch {
    return { reason: 'unreadable', viaLink: false };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * For the indexer: a regular file's content and the stat of what was read, opened without
 * following a link and refused when what was opened is outside `root` or a credentials file.
 * Undefined when it cannot be read or may not be.
 */
export async function readFileInProject(root: string, abs: string): Promise<{ stat: fs.Stats; buf: Buffer } | undefined> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(abs, NO_FOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = await handle.stat();
    if (refusalOfOpened(root, handle.fd, stat) || stat.size > MAX_FILE_BYTES) return undefined;
    return { stat, buf: await handle.readFile() };
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Directories too broad to be a project: the root of the filesystem, the home directory and the
 * directories above it. Indexing one reads (and watches) everything below it, which is never what
 * a question needs; a dotfiles repository at $HOME would otherwise make every `aic ask` under it do
 * so. The user can still ask for one on purpose (--project-force, context.allowBroadProjects).
 */

/** Why `root` (a real path) is too broad to index, or undefined when it is not. */
export function broadProjectReason(root: string, home: string | undefined): string | undefined {
  if (path.dirname(root) === root) return 'the root of the filesystem';
  for (const h of homes(home)) {
    if (h === root) return 'your home directory';
    if (h.startsWith(root + path.sep)) return 'a directory above your home directory';
  }
  return undefined;
}

/** The home directory as given and as its real path (a home reached through a link is the same home). */
function homes(home: string | undefined): string[] {
  if (!home) return [];
  const given = path.resolve(home);
  try {
    const real = fs.realpathSync(given);
    return real === given ? [given] : [given, real];
  } catch {
    return [given];
  }
}

/** Thrown by ContextEngine.project for a directory too broad to index, unless asked for on purpose. */
export class BroadProjectError extends Error {
  constructor(
    readonly root: string,
    readonly why: string,
  ) {
    super(`${root} is ${why}: it is not indexed as a project, since that would read every file below it`);
    this.name = 'BroadProjectError';
  }
}

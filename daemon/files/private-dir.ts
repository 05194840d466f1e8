import * as fs from 'node:fs';

export class PrivateDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivateDirError';
  }
}

export interface PrivateDirRules {
  /** What the directory holds, for messages: "socket directory", "data directory". */
  what: string;
  /** The variable that moves it elsewhere, named in every fix. */
  envVar: string;
  /**
   * Called after a directory of ours that group or others could enter was tightened to 0700.
   * Without it such a directory is refused instead: the socket directory may be shared on purpose.
   */
  tightened?: (previousMode: number) => void;
  /** Judge the directory a symlink points to (a data dir moved to another disk) rather than refuse the link. */
  followSymlink?: boolean;
}

const octal = (mode: number): string => (mode & 0o777).toString(8);

/**
 * Makes sure `dir` exists (created 0700), is a directory, belongs to `uid` and is closed to
 * group and others. A directory owned by someone else is refused: its owner could read or swap
 * what we put there. One rule for the socket and the data directory.
 */
export function preparePrivateDir(dir: string, uid: number, rules: PrivateDirRules): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new PrivateDirError(
      `cannot create the ${rules.what} ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; set ${rules.envVar} to a directory you own`,
    );
  }
  const stat = rules.followSymlink ? fs.statSync(dir) : fs.lstatSync(dir);
  if (!stat.isDirectory()) throw new PrivateDirError(`${dir} is not a directory; set ${rules.envVar} to a path in a directory you own`);
  if (stat.uid !== uid) {
    throw new PrivateDirError(
      `refusing to use ${rules.what} ${dir}: it belongs to uid ${stat.uid}, not to you (uid ${uid}). ` +
        `If it is yours, \`chown -R ${uid} ${dir}\`; otherwise remove it or set ${rules.envVar} elsewhere.`,
    );
  }
  if ((stat.mode & 0o077) === 0) return;
  if (!rules.tightened) {
    throw new PrivateDirError(
      `refusing to use ${rules.what} ${dir}: mode ${octal(stat.mode)} lets other users in. Run ` +
        `\`chmod 700 ${dir}\` or set ${rules.envVar} to a path in a private directory.`,
    );
  }
  fs.chmodSync(dir, 0o700);
  rules.tightened(stat.mode & 0o777);
}

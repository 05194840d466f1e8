import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Store } from '../../daemon/store/store';

/** A temporary directory with a real git repository and a real lmdb store beside it. */
export interface TempRepo {
  dir: string;
  root: string;
  store: Store;
  write(rel: string, text: string): void;
  remove(rel: string): void;
  git(...args: string[]): string;
  /** Commits everything with a message, at a given time (seconds) so history is deterministic. */
  commit(message: string, time?: number): void;
  cleanup(): Promise<void>;
}

export async function makeRepo(files: Record<string, string> = {}, opts: { git?: boolean } = {}): Promise<TempRepo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-context-'));
  const root = fs.realpathSync(path.join(dir));
  const repoRoot = path.join(root, 'repo');
  fs.mkdirSync(repoRoot);
  let store = await Store.open(path.join(root, 'data'));
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
    });
  const repo: TempRepo = {
    dir: root,
    root: repoRoot,
    get store() {
      return store;
    },
    set store(s: Store) {
      store = s;
    },
    write(rel, text) {
      const abs = path.join(repoRoot, rel);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, text);
    },
    remove(rel) {
      fs.rmSync(path.join(repoRoot, rel), { force: true });
    },
    git,
    commit(message, time) {
      git('add', '-A');
      const env = time === undefined ? {} : { GIT_AUTHOR_DATE: `${time} +0000`, GIT_COMMITTER_DATE: `${time} +0000` };
      execFileSync('git', ['commit', '-qm', message], {
        cwd: repoRoot,
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', ...env },
      });
    },
    async cleanup() {
      await store.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  if (opts.git ?? true) git('init', '-q', '-b', 'main');
  for (const [rel, text] of Object.entries(files)) repo.write(rel, text);
  return repo;
}

/** Polls `check` until it returns true; fails with `what` after a generous deadline (a wait, not a timing assertion). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

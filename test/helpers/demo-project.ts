import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Sandbox } from './daemon';

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

/**
 * A small git project inside the sandbox, for the intelligence engine as users meet it: a budget
 * module, a server using it, an unrelated palette, a README, an ignored directory and committed
 * credentials. Returns its
 * real path (the engine resolves symlinks such as /tmp's).
 */
export function demoProject(s: Sandbox): string {
  const root = path.join(s.dir, 'proj');
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  write('src/budget.ts', 'export function reserveBudget(limit: number, spent: number): boolean {\n  return spent < limit;\n}\n');
  write(
    'src/server.ts',
    "import { reserveBudget } from './budget';\nexport function handleRequest(): string {\n  return reserveBudget(10, 2) ? 'ok' : 'refused';\n}\n",
  );
  write('src/colours.ts', "export const palette = ['red', 'green', 'blue'];\n");
  write('README.md', '# Demo\n');
  write('.gitignore', 'secret/\n');
  write('secret/reserveBudget-notes.ts', 'export const reserveBudgetSecret = 1;\n');
  // Committed by mistake, as happens: credentials that must never reach a model.
  write('.env', 'API_TOKEN=sk-live-do-not-send\n');
  write('config/deploy.pem', '-----BEGIN PRIVATE KEY-----\nreserveBudget\n-----END PRIVATE KEY-----\n');
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'first');
  return fs.realpathSync(root);
}

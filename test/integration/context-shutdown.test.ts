import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContextProgressNotification, ContextRequest } from '../../protocol/context';
import { connect, makeSandbox, startForeground, teardown, waitFor, type Sandbox } from '../helpers/daemon';

/** A project of `files` small TypeScript files, 100 to a directory, outside git (named with --project). */
function bigProject(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `m${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i % 100}.ts`), `export function handler${i}(input: number): number {\n  return input * ${i};\n}\n`);
  }
}

/**
 * A `git` that answers like a repository with a history too long to read: `log` never ends
 * (it leaves a marker when it starts). Everything else it hands to the real git.
 */
function slowGit(dir: string): { bin: string; marker: string } {
  const bin = path.join(dir, 'bin');
  const marker = path.join(dir, 'git-log-started');
  const real = ['/usr/bin/git', '/bin/git', '/usr/local/bin/git'].find((g) => fs.existsSync(g)) ?? 'git';
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/sh\ncase "$1" in\n  rev-parse) echo 0123456789abcdef0123456789abcdef01234567 ;;\n  ` +
      `log) : > '${marker}'; exec sleep 600 ;;\n  *) exec ${real} "$@" ;;\nesac\n`,
    { mode: 0o755 },
  );
  return { bin, marker };
}

describe('shutdown while a project is being indexed', function () {
  this.timeout(120000);
  const made: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((s) => teardown(s)));
  });

  it('SIGTERM during the walk and parse of a big project: the daemon exits', async () => {
    const s = makeSandbox();
    made.push(s);
    const root = path.join(s.dir, 'big');
    bigProject(root, 20_000);
    const daemon = await startForeground(s);
    const session = await connect(s);
    let indexing = false;
    session.connection.onNotification(ContextProgressNotification, (p) => {
      if (p.state === 'indexing' && p.filesDone > 0) indexing = true;
    });
    void session.connection
      .sendRequest(ContextRequest, { project: root, projectExplicit: true, query: 'handler', progressToken: 'big' })
      .catch(() => undefined);
    await waitFor(
      () => indexing || daemon.child.exitCode !== null,
      60000,
      () => 'indexing never started',
    );
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    session.close();
    assert.equal(exit.code, 0, daemon.stderr());
  });

  it('SIGTERM while git history is being read: git is stopped and the daemon exits', async () => {
    const s = makeSandbox();
    made.push(s);
    const git = slowGit(s.dir);
    const root = path.join(s.dir, 'repo');
    bigProject(root, 50);
    fs.mkdirSync(path.join(root, '.git'));
    const daemon = await startForeground(s, { env: { PATH: `${git.bin}:${process.env.PATH ?? ''}` } });
    const session = await connect(s);
    void session.connection.sendRequest(ContextRequest, { project: root, query: 'handler' }).catch(() => undefined);
    await waitFor(
      () => fs.existsSync(git.marker),
      60000,
      () => 'git log never started',
    );
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    session.close();
    assert.equal(exit.code, 0, daemon.stderr());
  });
});

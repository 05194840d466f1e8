import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aic, aid, type Sandbox } from '../helpers/daemon';
import { ollamaSuite } from '../helpers/ollama-suite';

/** Another user of the machine: nobody (65534), as CI (root) can become with util-linux's setpriv. */
function asOtherUser(command: string[]): { code: number | null; output: string } {
  const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...command], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** The second user can read nothing of it (and the check itself works: a public file is readable). */
function assertUnreadableByOthers(file: string): void {
  const attempt = asOtherUser(['cat', file]);
  assert.notEqual(attempt.code, 0, `uid 65534 read ${file}: ${attempt.output.slice(0, 200)}`);
  assert.match(attempt.output, /Permission denied/);
}

describe('what aid keeps is its user’s alone', function () {
  this.timeout(60000);
  const { pool, sim } = ollamaSuite();

  before(function () {
    // These tests need a second user: fail loudly where that cannot be had, never skip.
    assert.equal(process.getuid?.(), 0, 'these tests switch to uid 65534 with setpriv and must run as root (as CI does)');
    const probe = spawnSync('setpriv', ['--version']);
    assert.ok(!probe.error, 'setpriv (Debian package util-linux) is needed to test as a second user: apt-get install util-linux');
  });

  /** A sandbox whose top directory others may enter, as a home directory usually is. */
  function openSandbox(): Sandbox {
    const s = pool.make({ ollamaUrl: sim().url });
    fs.chmodSync(s.dir, 0o755);
    const publicFile = path.join(s.dir, 'public.txt');
    fs.writeFileSync(publicFile, 'anyone may read this\n', { mode: 0o644 });
    fs.chmodSync(publicFile, 0o644);
    assert.equal(asOtherUser(['cat', publicFile]).code, 0, 'the second user can read what is public');
    return s;
  }

  it('tightens an open data directory to 0700 (and logs it), creates the store 0600, and another user reads none of it', async () => {
    const s = openSandbox();
    fs.mkdirSync(s.dataDir, { mode: 0o755 });
    fs.chmodSync(s.dataDir, 0o755);
    assert.equal((await aid(['start'], s)).code, 0);
    const asked = await aic(['ask', '-m', 'ollama/llama3.2', 'my secret plan'], s);
    assert.equal(asked.code, 0, asked.stderr);

    assert.equal(mode(s.dataDir), 0o700);
    const store = path.join(s.dataDir, 'aid.lmdb');
    assert.equal(mode(store), 0o600);
    assert.equal(mode(`${store}-lock`), 0o600);
    assert.match(
      fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8'),
      new RegExp(`WARN +other users could read aid's data: tightened to owner-only file=${s.dataDir} mode=755`),
    );
    assertUnreadableByOthers(store);
    assert.notEqual(asOtherUser(['ls', s.dataDir]).code, 0);
    // The files are closed too, not only the directory: let others through the directory and try again.
    fs.chmodSync(s.dataDir, 0o711);
    assertUnreadableByOthers(store);
    assertUnreadableByOthers(`${store}-lock`);
    fs.chmodSync(s.dataDir, 0o700);
  });

  it('tightens store files an older aid left 0644 before opening them', async () => {
    const s = openSandbox();
    assert.equal((await aid(['start'], s)).code, 0);
    assert.equal((await aid(['stop'], s)).code, 0);
    const store = path.join(s.dataDir, 'aid.lmdb');
    for (const file of [store, `${store}-lock`]) fs.chmodSync(file, 0o644);
    assert.equal((await aid(['start'], s)).code, 0);
    assert.equal(mode(store), 0o600);
    assert.equal(mode(`${store}-lock`), 0o600);
    assert.match(fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8'), new RegExp(`tightened to owner-only file=${store} mode=644`));
  });

  it('refuses a data directory that belongs to another user, with the fix in the message', async () => {
    const s = openSandbox();
    fs.mkdirSync(s.dataDir, { mode: 0o700 });
    fs.chownSync(s.dataDir, 65534, 65534);
    const started = await aid(['start'], s);
    assert.equal(started.code, 1);
    assert.match(
      started.stderr,
      new RegExp(
        `refusing to use data ` +
          `directory ${s.dataDir}: it belongs to uid 65534, not to you \\(uid 0\\)\\. If it is yours, ` +
          `\`chown -R 0 ${s.dataDir}\`; otherwise remove it or set AID_DATA_DIR elsewhere`,
      ),
    );
    assert.deepEqual(fs.readdirSync(s.dataDir), [], 'nothing was written into it');
  });

  it('writes /export files 0600, closes an existing one before writing into it, and refuses a symlink', async () => {
    const s = openSandbox();
    const old = path.join(s.dir, 'old.md');
    fs.writeFileSync(old, 'an earlier export\n', { mode: 0o644 });
    fs.chmodSync(old, 0o644);
    const target = path.join(s.dir, 'target.md');
    fs.writeFileSync(target, 'not to be overwritten\n');
    fs.symlinkSync(target, path.join(s.dir, 'link.md'));
    const chat = await aic(['chat', '-m', 'ollama/llama3.2'], s, { input: 'my secret plan\n/export md new.md\n/export md old.md\n/export md link.md\n' });
    assert.equal(chat.code, 0, chat.stderr);
    assert.match(chat.stdout, /wrote .*new\.md/);
    assert.match(chat.stdout, /link\.md is a symbolic link; \/export writes only a file of its own/);
    for (const file of [path.join(s.dir, 'new.md'), old]) {
      assert.match(fs.readFileSync(file, 'utf8'), /my secret plan/);
      assert.equal(mode(file), 0o600);
      assertUnreadableByOthers(file);
    }
    assert.equal(fs.readFileSync(target, 'utf8'), 'not to be overwritten\n');
  });
});

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PidLock } from '../../daemon/server/lock';
import { LockContenders } from '../helpers/start-race';

describe('PidLock', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-lock-'));
    file = path.join(dir, 'aid.sock.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is exclusive while its holder lives, names the holder, and is removed by its owner on release', () => {
    const first = PidLock.acquire(file);
    assert.ok(first.acquired);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(PidLock.holder(file), process.pid);
    // Another open file (another starter) cannot take it, and learns who holds it.
    assert.deepEqual(PidLock.acquire(file, 4242), { acquired: false, pid: process.pid });
    assert.ok(first.lock.held);
    first.lock.release();
    assert.ok(!fs.existsSync(file));
    assert.equal(PidLock.holder(file), undefined);
    const again = PidLock.acquire(file);
    assert.ok(again.acquired);
    again.lock.release();
  });

  it('is let go by the kernel when its holder is killed with SIGKILL', async () => {
    const contenders = await LockContenders.start(file, 1);
    try {
      assert.deepEqual(await contenders.holdOne(), { acquired: true });
      const holder = PidLock.holder(file);
      assert.ok(holder !== undefined && holder !== process.pid);
      assert.deepEqual(PidLock.acquire(file), { acquired: false, pid: holder });
      process.kill(holder, 'SIGKILL');
    } finally {
      await contenders.stop();
    }
    assert.ok(fs.existsSync(file), 'a killed holder leaves its file');
    assert.equal(PidLock.holder(file), undefined);
    const taken = PidLock.acquire(file);
    assert.ok(taken.acquired);
    assert.equal(PidLock.holder(file), process.pid);
    taken.lock.release();
  });

  it('is free when the pid in the file is a live program that holds nothing, even one whose command line says aid', async () => {
    // `less paid-invoices.txt` reusing a crashed daemon's pid must not block a start.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)', 'paid-invoices.txt'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(file, `${other.pid}\n`);
      assert.equal(PidLock.holder(file), undefined);
      const result = PidLock.acquire(file);
      assert.ok(result.acquired);
      assert.equal(fs.readFileSync(file, 'utf8'), `${process.pid}\n`);
      result.lock.release();
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.on('exit', r));
    }
  });

  it('takes over a lock file with no pid in it, and tightens one an older aid left 0644', () => {
    fs.writeFileSync(file, 'not a pid\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const result = PidLock.acquire(file);
    assert.ok(result.acquired);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    result.lock.release();
  });

  it('knows when its file was removed under it, and then leaves the new holder’s file alone', () => {
    const first = PidLock.acquire(file);
    assert.ok(first.acquired);
    fs.rmSync(file);
    assert.ok(!first.lock.held);
    const second = PidLock.acquire(file, 4242);
    assert.ok(second.acquired);
    first.lock.release();
    assert.equal(fs.readFileSync(file, 'utf8'), '4242\n');
    assert.ok(second.lock.held);
    second.lock.release();
  });

  it('refuses a symlink in its place and leaves what it points to untouched', () => {
    const target = path.join(dir, 'notes.txt');
    fs.writeFileSync(target, 'my notes\n');
    fs.symlinkSync(target, file);
    assert.throws(() => PidLock.acquire(file), /symbolic link.*rm /);
    assert.equal(fs.readFileSync(target, 'utf8'), 'my notes\n');
    assert.equal(PidLock.holder(file), undefined);
  });
});

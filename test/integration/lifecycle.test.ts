import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { aid, aic, isAlive, startForeground, writeConfig, SandboxPool, type Sandbox } from '../helpers/daemon';
import { answeringPid, leaveStaleDaemonFiles, LockContenders, raceStarts, writeStaleLock } from '../helpers/start-race';

function lockPid(s: Sandbox): number {
  return Number.parseInt(fs.readFileSync(`${s.socket}.lock`, 'utf8'), 10);
}

const STARTER_HEADER = /^--- aid start \(starter pid \d+\)/gm;

describe('daemon lifecycle under races and odd paths', function () {
  this.timeout(120000);
  const pool = new SandboxPool();
  const sandbox = (options?: Parameters<SandboxPool['make']>[0]): Sandbox => pool.make(options);
  afterEach(async () => {
    await pool.teardownAll();
  });

  it('gives a stale lock to exactly one of 12 processes racing for it, 30 rounds in a row', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-lock-race-'));
    try {
      const file = path.join(dir, 'aid.sock.lock');
      const contenders = await LockContenders.start(file, 12);
      const holders: number[] = [];
      try {
        for (let round = 0; round < 30; round++) {
          await writeStaleLock(file);
          const outcomes = await contenders.race();
          assert.deepEqual(
            outcomes.filter((o) => 'error' in o),
            [],
            `round ${round + 1}: no contender fails`,
          );
          holders.push(outcomes.filter((o) => 'acquired' in o && o.acquired).length);
        }
      } finally {
        await contenders.stop();
      }
      assert.deepEqual(
        holders,
        Array.from({ length: 30 }, () => 1),
        `holders per round: ${holders.join(' ')}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('12 concurrent `aid start`s over what kill -9 left: one daemon, its socket intact, every starter’s output kept (3 rounds)', async () => {
    for (let round = 1; round <= 3; round++) {
      const s = sandbox();
      const killed = await leaveStaleDaemonFiles(s);
      const outcome = await raceStarts(s, 12);
      for (const r of outcome.starters) assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
      assert.equal(outcome.daemons.length, 1, `round ${round}: daemons ${outcome.daemons.join(', ')}`);
      const [daemon] = outcome.daemons;
      assert.notEqual(daemon, killed);
      assert.equal(outcome.answering, daemon, `round ${round}: the one daemon answers on the socket`);
      assert.deepEqual([...new Set(outcome.reported)], [daemon], `round ${round}: every starter names the same daemon`);
      assert.equal(lockPid(s), daemon);
      assert.equal((JSON.parse(fs.readFileSync(path.join(s.stateDir, 'aid.json'), 'utf8')) as { pid: number }).pid, daemon);
      // Each starter that spawned a daemon appended its own section; none truncated another's.
      const spawned = outcome.starters.filter((r) => /aid started/.test(r.stderr)).length;
      assert.ok(spawned >= 1);
      assert.equal(fs.readFileSync(path.join(s.stateDir, 'aid.out'), 'utf8').match(STARTER_HEADER)?.length, spawned, `round ${round}`);
    }
  });

  it('a daemon stopped after its socket directory was deleted never removes the socket of the daemon that replaced it', async () => {
    const s = sandbox();
    const old = await startForeground(s);
    fs.rmSync(path.dirname(s.socket), { recursive: true });
    const started = await aid(['start'], s);
    assert.equal(started.code, 0, started.stderr);
    const fresh = lockPid(s);
    assert.notEqual(fresh, old.pid);
    old.child.kill('SIGTERM');
    await old.exited;
    assert.equal(await answeringPid(s), fresh, 'the new daemon still answers on its socket');
    assert.ok(fs.existsSync(`${s.socket}.lock`), 'and keeps its lock file');
  });

  it('a daemon whose socket was deleted stops by itself rather than linger unreachable', async () => {
    const s = sandbox();
    const daemon = await startForeground(s);
    fs.rmSync(s.socket);
    const exit = await daemon.exited;
    assert.equal(exit.code, 1, 'a stop nobody asked for');
    assert.match(daemon.stderr(), /aid stops: its socket .* was removed or replaced/);
    assert.ok(!isAlive(daemon.pid));
    assert.ok(!fs.existsSync(`${s.socket}.lock`), 'its lock is released');
  });

  it('never removes what is not its socket: AID_SOCKET naming a regular file is refused and the file kept', async () => {
    const s = sandbox();
    const notes = path.join(path.dirname(s.socket), 'notes.txt');
    fs.writeFileSync(notes, 'my notes\n');
    const started = await aid(['start'], s, { env: { AID_SOCKET: notes } });
    assert.equal(started.code, 1);
    assert.match(started.stderr, /notes\.txt is a regular file, not aid's socket.*set AID_SOCKET to another path/s);
    assert.equal(fs.readFileSync(notes, 'utf8'), 'my notes\n');
    assert.equal((await aid(['stop'], s, { env: { AID_SOCKET: notes } })).code, 0);
    assert.equal(fs.readFileSync(notes, 'utf8'), 'my notes\n');
  });

  it('says what a dangling symlink at the socket path is and what to do, instead of EADDRINUSE', async () => {
    const s = sandbox();
    const nowhere = path.join(s.dir, 'nowhere.sock');
    fs.symlinkSync(nowhere, s.socket);
    const started = await aid(['start'], s);
    assert.equal(started.code, 1);
    assert.match(started.stderr, new RegExp(`is a symbolic link to ${nowhere.replace(/[.]/g, '\\.')} \\(which does not exist\\).*AID_SOCKET`, 's'));
    assert.doesNotMatch(started.stderr, /EADDRINUSE/);
    assert.ok(fs.lstatSync(s.socket).isSymbolicLink(), 'the link is left alone');
  });

  it('appends to aid.out, never through a symlink, and shows the failing start its own message', async () => {
    const s = sandbox();
    const precious = path.join(s.dir, 'precious.txt');
    fs.writeFileSync(precious, 'keep me\n');
    fs.mkdirSync(s.stateDir, { recursive: true, mode: 0o700 });
    const out = path.join(s.stateDir, 'aid.out');
    fs.symlinkSync(precious, out);
    const refused = await aid(['start'], s);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /aid\.out is a symbolic link.*rm /s);
    assert.equal(fs.readFileSync(precious, 'utf8'), 'keep me\n');

    fs.rmSync(out);
    fs.writeFileSync(out, 'what an earlier daemon said\n');
    writeConfig(s, '{ "logLevel": "loud" }');
    const failed = await aid(['start'], s);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^aid: invalid config .*config\.json:\n\s+- logLevel/m);
    const kept = fs.readFileSync(out, 'utf8');
    assert.ok(kept.startsWith('what an earlier daemon said\n'), kept);
    assert.match(kept, /--- aid start \(starter pid \d+\)[^\n]*\naid: invalid config/);
  });

  it('starts at once over a stale lock whose pid now belongs to another program', async () => {
    const s = sandbox();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'paid-invoices.txt'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(`${s.socket}.lock`, `${other.pid}\n`, { mode: 0o600 });
      const started = await aid(['start'], s, { timeoutMs: 30000 });
      assert.equal(started.code, 0, started.stderr);
      assert.notEqual(lockPid(s), other.pid);
      assert.equal((await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } })).code, 0);
      assert.ok(isAlive(other.pid as number), 'the other program is left alone');
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.on('exit', r));
    }
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SandboxPool } from '../helpers/daemon';
import { LockContenders, writeStaleLock } from '../helpers/start-race';

describe('daemon lifecycle under races and odd paths', function () {
  this.timeout(120000);
  const pool = new SandboxPool();
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
          assert.deepEqual(outcomes.filter((o) => 'error' in o), [], `round ${round + 1}: no contender fails`);
          holders.push(outcomes.filter((o) => 'acquired' in o && o.acquired).length);
        }
      } finally {
        await contenders.stop();
      }
      assert.deepEqual(holders, Array.from({ length: 30 }, () => 1), `holders per round: ${holders.join(' ')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

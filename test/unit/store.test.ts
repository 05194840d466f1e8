import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger, type RequestRecord } from '../../daemon/ledger/ledger';
import { SCHEMA_VERSION, Store, type Migration } from '../../daemon/store/store';
import { zeroUsage } from '../../daemon/providers/types';

/** Migrations that note when they ran and which version the store had at that moment. */
function recordingMigrations(...versions: number[]): { migrations: Migration[]; ran: { to: number; from: number }[] } {
  const ran: { to: number; from: number }[] = [];
  const migrations = versions.map((to) => ({
    to,
    description: `step ${to}`,
    run: async (store: Store): Promise<void> => {
      ran.push({ to, from: store.schemaVersion });
      await store.db('meta').put(`step${to}`, true);
    },
  }));
  return { migrations, ran };
}

function entry(model: string): Omit<RequestRecord, 'id' | 'time'> {
  return {
    host: 'ollama',
    provider: 'ollama',
    model,
    sessionId: 's1',
    outcome: 'ok',
    usage: { ...zeroUsage(), inputTokens: 3, outputTokens: 4 },
    costUsd: 0,
    latencyMs: 12,
    ttftMs: 5,
  };
}

describe('store', () => {
  let dir: string;
  const open: Store[] = [];
  const track = async (store: Promise<Store>): Promise<Store> => {
    const s = await store;
    open.push(s);
    return s;
  };
  beforeEach(() => (dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aid-store-')), 'data')));
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  describe('Store', () => {
    it('creates a private data directory and records the schema version', async () => {
      const store = await track(Store.open(dir));
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.equal(store.db('meta').get('schemaVersion'), SCHEMA_VERSION);
      assert.equal(store.path, path.join(dir, 'aid.lmdb'));
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    });

    it('runs each migration once, in version order, recording the version after each', async () => {
      const first = recordingMigrations(3, 1, 2);
      const store = await Store.open(dir, first.migrations, 3);
      assert.deepEqual(first.ran, [
        { to: 1, from: 0 },
        { to: 2, from: 1 },
        { to: 3, from: 2 },
      ]);
      assert.equal(store.schemaVersion, 3);
      await store.close();

      const again = recordingMigrations(1, 2, 3, 4);
      const reopened = await track(Store.open(dir, again.migrations, 4));
      assert.deepEqual(again.ran, [{ to: 4, from: 3 }], 'only the migration past the stored version runs');
      assert.equal(reopened.schemaVersion, 4);
      assert.equal(reopened.db('meta').get('step3'), true);
    });

    it('does not run a migration newer than the version this build targets', async () => {
      const { migrations, ran } = recordingMigrations(1, 2);
      const store = await track(Store.open(dir, migrations, 1));
      assert.deepEqual(
        ran.map((r) => r.to),
        [1],
      );
      assert.equal(store.schemaVersion, 1);
    });

    it('after a failing migration, keeps the versions reached and resumes from there', async () => {
      let failing = true;
      const { migrations, ran } = recordingMigrations(1, 3);
      migrations.push({
        to: 2,
        description: 'fails the first time',
        run: () => (failing ? Promise.reject(new Error('disk full')) : Promise.resolve()),
      });
      await assert.rejects(Store.open(dir, migrations, 3), /disk full/);
      assert.deepEqual(
        ran.map((r) => r.to),
        [1],
      );
      failing = false;
      const store = await track(Store.open(dir, migrations, 3));
      assert.deepEqual(
        ran.map((r) => r.to),
        [1, 3],
        'migration 1 is not run twice',
      );
      assert.equal(store.schemaVersion, 3);
    });

    it('keeps data across close and reopen; close is idempotent', async () => {
      const store = await Store.open(dir);
      await store.db('requests').put('k', { v: 1, text: 'é' });
      await store.close();
      await store.close();
      const reopened = await track(Store.open(dir));
      assert.deepEqual(reopened.db('requests').get('k'), { v: 1, text: 'é' });
    });

    it('refuses data written by a newer aid, saying what to do', async () => {
      const store = await Store.open(dir);
      await store.db('meta').put('schemaVersion', SCHEMA_VERSION + 1);
      await store.close();
      await assert.rejects(Store.open(dir), (error: Error) => {
        assert.equal(
          error.message,
          `the data in ${path.join(dir, 'aid.lmdb')} has schema ` +
            `version ${SCHEMA_VERSION + 1}, newer than this aid understands (${SCHEMA_VERSION}); upgrade aid or point AID_DATA_DIR elsewhere`,
        );
        return true;
      });
      // The refusal changed nothing: a newer aid still finds its data.
      const newer = await track(Store.open(dir, [], SCHEMA_VERSION + 1));
      assert.equal(newer.schemaVersion, SCHEMA_VERSION + 1);
    });
  });

  describe('Ledger', () => {
    it('records rows with an id and the clock time, counts them, and lists the newest first', async () => {
      const store = await track(Store.open(dir));
      let t = 1_700_000_000_000;
      const ledger = new Ledger(store, () => (t += 1000));
      assert.equal(ledger.count(), 0);
      assert.deepEqual(ledger.recent(5), []);
      const a = await ledger.record(entry('a'));
      const b = await ledger.record({ ...entry('b'), outcome: 'error', error: 'boom', project: '/p' });
      const c = await ledger.record(entry('c'));
      assert.equal(a.time, 1_700_000_001_000);
      assert.deepEqual(b, { id: b.id, time: 1_700_000_002_000, ...entry('b'), outcome: 'error', error: 'boom', project: '/p' });
      assert.equal(new Set([a.id, b.id, c.id]).size, 3);
      assert.equal(ledger.count(), 3);
      assert.deepEqual(
        ledger.recent(2).map((r) => r.model),
        ['c', 'b'],
      );
      assert.deepEqual(ledger.recent(10), [c, b, a]);
    });

    it('orders by time even when the time gains a digit', async () => {
      const store = await track(Store.open(dir));
      // 'z', '10', '100' in base 36: as plain strings they would sort the wrong way.
      const times = [35, 36, 36 ** 2];
      const ledger = new Ledger(store, () => times.shift() ?? 0);
      for (const model of ['first', 'second', 'third']) await ledger.record(entry(model));
      assert.deepEqual(
        ledger.recent(3).map((r) => r.model),
        ['third', 'second', 'first'],
      );
    });

    it('rows are on disk once record resolves', async () => {
      const store = await Store.open(dir);
      const row = await new Ledger(store).record(entry('durable'));
      await store.close();
      const reopened = await track(Store.open(dir));
      const ledger = new Ledger(reopened);
      assert.equal(ledger.count(), 1);
      assert.deepEqual(ledger.recent(1), [row]);
    });
  });
});

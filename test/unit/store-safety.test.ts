import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoreIncident } from '../../protocol/daemon';
import { Store } from '../../daemon/store/store';

describe('Store files', () => {
  it('are created 0600 by lmdb itself, whatever the umask, the data and the lock file alike', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-store-mode-'));
    const previous = process.umask(0o022);
    try {
      const store = await Store.open(path.join(root, 'data'));
      await store.db('meta').put('x', 1);
      assert.equal(fs.statSync(store.path).mode & 0o777, 0o600);
      assert.equal(fs.statSync(`${store.path}-lock`).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(root, 'data')).mode & 0o777, 0o700);
      await store.close();
    } finally {
      process.umask(previous);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** The store's file vanishing under it: real lmdb in a temp dir, the directory deleted for real. */
describe('Store written back when its file vanishes', () => {
  let root: string;
  let dir: string;
  let incidents: StoreIncident[];
  let now: number;
  const open: Store[] = [];
  const openStore = async (): Promise<Store> => {
    const store = await Store.open(dir, [], undefined, { onIncident: (i) => incidents.push(i), now: () => now });
    open.push(store);
    return store;
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-store-lost-'));
    dir = path.join(root, 'data');
    incidents = [];
    now = 1_700_000_000_000;
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('writes everything back when its directory is deleted, and the writes asked meanwhile land after it, in order', async () => {
    const store = await openStore();
    const meta = store.db<number>('meta');
    await meta.put('before', 1);
    fs.rmSync(dir, { recursive: true });
    assert.ok(store.db('meta').get('before') === 1, 'reads still see everything');
    const writes = [meta.put('k', 1), meta.put('k', 2), store.transaction(() => void meta.put('seen', meta.get('k') ?? -1))];
    await Promise.all(writes);
    assert.deepEqual(
      incidents.map((i) => i.recovered),
      [false, true],
    );
    assert.match(incidents[1]?.message ?? '', /deleted while aid ran.*nothing was lost/);
    assert.equal(store.incident?.recovered, true);
    assert.equal(store.path, path.join(dir, 'aid.lmdb'));
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(store.path).mode & 0o777, 0o600);
    assert.deepEqual([meta.get('before'), meta.get('k'), meta.get('seen')], [1, 2, 2]);
    assert.ok(store.verify());

    await store.close();
    const reopened = await openStore();
    assert.deepEqual(
      ['before', 'k', 'seen'].map((k) => reopened.db('meta').get(k)),
      [1, 2, 2],
    );
  });

  it('when it cannot write back, keeps serving from what it holds, tries again 5 s later, and once more at close', async () => {
    const store = await openStore();
    const meta = store.db<string>('meta');
    await meta.put('a', 'first');
    fs.rmSync(dir, { recursive: true });
    // A file where the directory was: the directory cannot be made again.
    fs.writeFileSync(dir, 'in the way\n');
    await meta.put('b', 'while lost');
    assert.equal(store.incident?.recovered, false);
    assert.match(store.incident?.message ?? '', /could not write it back.*tries again/);
    assert.equal(meta.get('b'), 'while lost');
    const attempts = incidents.length;
    assert.equal(store.verify(), false);
    assert.equal(incidents.length, attempts, 'no new attempt before 5 s');

    fs.rmSync(dir);
    now += 5001;
    store.verify();
    await meta.put('c', 'after');
    assert.equal(store.incident?.recovered, true);
    await store.close();
    const reopened = await openStore();
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => reopened.db('meta').get(k)),
      ['first', 'while lost', 'after'],
    );
  });

  it('writes back at close what could not be written back before', async () => {
    const store = await openStore();
    await store.db('meta').put('a', 'kept');
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'in the way\n');
    await store.db('meta').put('b', 'kept too');
    assert.equal(store.incident?.recovered, false);
    fs.rmSync(dir);
    await store.close();
    const reopened = await openStore();
    assert.deepEqual(
      ['a', 'b'].map((k) => reopened.db('meta').get(k)),
      ['kept', 'kept too'],
    );
  });

  it('leaves a file put in its place alone and goes on beside it', async () => {
    const store = await openStore();
    await store.db('meta').put('mine', true);
    const file = store.path;
    fs.rmSync(file);
    fs.writeFileSync(file, 'a restored backup\n');
    await store.db('meta').put('later', true);
    assert.equal(fs.readFileSync(file, 'utf8'), 'a restored backup\n');
    assert.match(store.path, /aid\.lmdb\.kept-/);
    assert.match(store.incident?.message ?? '', /was replaced while aid ran.*wrote everything it held to .*kept-/);
    assert.deepEqual([store.db('meta').get('mine'), store.db('meta').get('later')], [true, true]);
  });
});

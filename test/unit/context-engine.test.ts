import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContextEngine, type ContextProject, type IndexProgress } from '../../daemon/context/engine';
import { Store } from '../../daemon/store/store';
import { eventually, makeRepo, type TempRepo } from '../helpers/context-repo';

const FILES: Record<string, string> = {
  'src/config.ts':
    "import { readText } from './io';\n\nexport interface Config { port: number }\n\nexport function parseConfig(text: string): Config {\n  return " +
    'JSON.parse(readText(text)) as Config;\n}\n',
  'src/io.ts': 'export function readText(file: string): string {\n  return file;\n}\n',
  'src/server.ts': "import { parseConfig } from './config';\n\nexport function startServer(): void {\n  parseConfig('{}');\n}\n",
  'src/billing/invoice.ts': 'export function computeInvoiceTotal(lines: number[]): number {\n  return lines.reduce((a, b) => a + b, 0);\n}\n',
  'README.md': '# demo\n\nA small server.\n',
};

describe('context: engine (real lmdb, git, chokidar)', () => {
  let repo: TempRepo;
  let engine: ContextEngine;
  beforeEach(async () => {
    repo = await makeRepo(FILES);
    engine = new ContextEngine({ store: repo.store });
  });
  afterEach(async () => {
    await engine.close();
    await repo.cleanup();
  });

  async function open(): Promise<ContextProject> {
    const p = engine.project(path.join(repo.root, 'src'));
    await p.ready();
    await p.watchReady();
    return p;
  }
  const top = async (p: ContextProject, q: string): Promise<string | undefined> => (await p.rank(q, { limit: 3 }))[0]?.path;

  it('takes the git root as the project, reports progress, and ranks the defining file first with reasons', async () => {
    const events: IndexProgress[] = [];
    const p = engine.project(path.join(repo.root, 'src', 'billing'));
    p.onProgress((e) => events.push(e));
    assert.equal(p.root, repo.root);
    assert.equal(engine.project(repo.root), p, 'one project per root, shared');
    await p.ready();
    assert.deepEqual([events[0].state, events[0].filesTotal], ['indexing', 5], 'progress while indexing, then ready');
    assert.ok(
      events.every((e, i) => i === 0 || e.filesDone >= events[i - 1].filesDone),
      'files done only grows',
    );
    assert.equal(events[events.length - 1].state, 'ready');
    assert.equal(events[events.length - 1].filesDone, 5);
    assert.deepEqual(p.progress(), { state: 'ready', filesDone: 5, filesTotal: 5 });
    const ranked = await p.rank('how is the config parsed?');
    assert.equal(ranked[0].path, 'src/config.ts');
    assert.ok(
      ranked[0].reasons.some((r) => r.startsWith('defines parseConfig')),
      ranked[0].reasons.join('; '),
    );
    assert.ok(ranked[0].reasons.includes("mentions 'config', 'parsed'"), ranked[0].reasons.join('; '));
    assert.ok(ranked.every((r) => r.score >= 0 && r.score <= 1));
    const io = ranked.find((r) => r.path === 'src/io.ts');
    assert.ok(io?.reasons.includes('imported by src/config.ts'), JSON.stringify(ranked));
    assert.equal(await top(p, 'invoice total'), 'src/billing/invoice.ts');
  });

  it('takes a directory outside git as its own project', async () => {
    const plain = await makeRepo({ 'notes/todo.md': 'rotate the signing keys\n' }, { git: false });
    const other = new ContextEngine({ store: plain.store });
    try {
      const p = other.project(path.join(plain.root, 'notes'));
      assert.equal(p.root, path.join(plain.root, 'notes'));
      await p.ready();
      assert.equal((await p.rank('signing keys'))[0]?.path, 'todo.md');
    } finally {
      await other.close();
      await plain.cleanup();
    }
  });

  it('reflects edits, additions, deletions and renames seen by the watcher', async () => {
    const p = await open();
    repo.write('src/cache.ts', 'export function evictStaleEntries(): void {}\n');
    await eventually('an added file is found', async () => (await top(p, 'evict stale entries')) === 'src/cache.ts');
    repo.write('src/io.ts', 'export function writeSnapshotAtomically(): void {}\n');
    await eventually('an edited file is found by its new content', async () => (await top(p, 'write snapshot atomically')) === 'src/io.ts');
    fs.renameSync(path.join(repo.root, 'src/cache.ts'), path.join(repo.root, 'src/eviction.ts'));
    await eventually('a renamed file is found under its new name only', async () => {
      const r = await p.rank('evict stale entries');
      return r[0]?.path === 'src/eviction.ts' && !r.some((f) => f.path === 'src/cache.ts');
    });
    repo.write('src/new/deeper/queue.ts', 'export function drainRetryQueue(): void {}\n');
    await eventually('a file in new directories is found', async () => (await top(p, 'drain retry queue')) === 'src/new/deeper/queue.ts');
    repo.write('src/new/deeper/queue.ts', 'export function flushRetryQueue(): void {}\n');
    await eventually('and its edits are seen', async () => (await top(p, 'flush retry queue')) === 'src/new/deeper/queue.ts');
    repo.remove('src/eviction.ts');
    await eventually('a deleted file is gone', async () => !(await p.rank('evict stale entries')).some((f) => f.path === 'src/eviction.ts'));
  });

  it('honours .gitignore files, nested ones too, and skips generated, binary and dependency files', async () => {
    repo.write('.gitignore', 'secret/\n*.log\n');
    repo.write('src/billing/.gitignore', 'draft.ts\n');
    repo.write('secret/keys.ts', 'export const invoiceSigningKey = 1;\n');
    repo.write('src/billing/draft.ts', 'export const invoiceDraft = 1;\n');
    repo.write('debug.log', 'invoice invoice invoice\n');
    repo.write('node_modules/lib/index.js', 'module.exports.invoice = 1;\n');
    repo.write('dist/out.js', 'exports.invoice = 1;\n');
    repo.write('vendor.min.js', 'var invoice=1;'.repeat(1000));
    fs.writeFileSync(path.join(repo.root, 'blob.dat'), Buffer.from([105, 110, 118, 0, 1, 2]));
    const p = await open();
    const paths = (await p.rank('invoice', { limit: 50 })).map((r) => r.path);
    assert.deepEqual(paths, ['src/billing/invoice.ts']);
    repo.write('src/billing/draft2.ts', 'export const invoiceDraft = 2;\n');
    repo.write('src/billing/draft.ts', 'export const invoiceDraft = 3;\n');
    await eventually('a new file that is not ignored is indexed', async () =>
      (await p.rank('invoice draft', { limit: 50 })).some((r) => r.path === 'src/billing/draft2.ts'),
    );
    assert.ok(!(await p.rank('invoice draft', { limit: 50 })).some((r) => r.path === 'src/billing/draft.ts'), 'an ignored file stays out when edited');
  });

  it('restarts without re-parsing unchanged files; a touched but identical file is hashed, not parsed', async () => {
    let p = await open();
    assert.equal(p.counters().parsed, 5);
    await engine.close();
    await repo.store.close();
    repo.write('src/server.ts', `${FILES['src/server.ts']}// changed\n`);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(repo.root, 'src/io.ts'), later, later);
    repo.store = await Store.open(path.join(repo.dir, 'data'));
    engine = new ContextEngine({ store: repo.store });
    p = engine.project(repo.root);
    await p.ready();
    assert.deepEqual(p.counters(), { parsed: 1, hashed: 1, unchanged: 3, skipped: 0, removed: 0 });
    assert.equal(await top(p, 'parseConfig'), 'src/config.ts');
    assert.equal(await engine.compact(), 1, "the edited file's old facts are deleted");
    assert.equal(await engine.compact(), 0);
    await engine.close();
    engine = new ContextEngine({ store: repo.store });
    p = engine.project(repo.root);
    await p.ready();
    assert.deepEqual(p.counters(), { parsed: 0, hashed: 0, unchanged: 5, skipped: 0, removed: 0 }, 'compaction kept every fact in use');
  });

  it('assembles within the token budget: small files whole, big ones as their relevant definitions with line ranges', async () => {
    const filler = Array.from({ length: 400 }, (_, i) => `export function unrelatedHelper${i}(): number {\n  return ${i};\n}\n`).join('');
    repo.write('src/big.ts', `${filler}export function rotateSigningKeys(): void {\n  // rotate\n}\n${filler.replace(/unrelatedHelper/g, 'otherHelper')}`);
    const p = await open();
    const bundle = await p.assemble('where do we rotate signing keys', { tokenBudget: 1000 });
    assert.ok(bundle.tokensUsed <= 1000, `used ${bundle.tokensUsed}`);
    assert.equal(bundle.tokensUsed, Math.ceil(bundle.prompt.length / 4));
    const big = bundle.attachments.find((a) => a.path === 'src/big.ts');
    assert.ok(big && !big.whole);
    assert.deepEqual([big.startLine, big.endLine], [1201, 1203]);
    assert.match(bundle.prompt, /src\/big\.ts \(lines 1201-1203\)\n```ts\nexport function rotateSigningKeys/);
    const small = await p.assemble('parse config', { tokenBudget: 2000, mentioned: ['src/io.ts'], excluded: ['src/server.ts'] });
    assert.equal(small.attachments[0].path, 'src/io.ts', 'mentioned files first');
    assert.ok(small.attachments.some((a) => a.path === 'src/config.ts' && a.whole && a.startLine === 1 && a.endLine === 8));
    assert.ok(!small.attachments.some((a) => a.path === 'src/server.ts'), 'excluded files stay out');
    repo.write('.gitignore', 'notes.txt\n');
    repo.write('notes.txt', 'remember the signing keys\n');
    const withIgnored = await p.assemble('signing keys', { tokenBudget: 2000, mentioned: ['notes.txt'] });
    assert.deepEqual(
      [withIgnored.attachments[0].path, withIgnored.attachments[0].text],
      ['notes.txt', 'remember the signing keys\n'],
      'a mentioned file is attached even if the index leaves it out',
    );
    const tiny = await p.assemble('parse config', { tokenBudget: 10 });
    assert.deepEqual([tiny.attachments.length, tiny.prompt], [0, '']);
  });

  it('unwatches an idle project, keeps its index, and catches up when used again', async () => {
    let clock = 1_000_000;
    await engine.close();
    engine = new ContextEngine({ store: repo.store, idleUnwatchMs: 200, now: () => clock });
    const p = await open();
    assert.equal(p.watching(), true);
    clock += 1000;
    await eventually('the idle project is unwatched', () => !p.watching());
    repo.write('src/late.ts', 'export function reconcileLedgerDrift(): void {}\n');
    assert.equal(await top(p, 'parse config'), 'src/config.ts', 'the index is kept while unwatched');
    await eventually('using it again re-watches and catches up', async () => (await top(p, 'reconcile ledger drift')) === 'src/late.ts');
    assert.equal(p.watching(), true);
  });
});

import { strict as assert } from 'node:assert';
import { ContextEngine, type ContextProject } from '../../daemon/context/engine';
import { DEFAULT_WEIGHTS } from '../../daemon/context/signals';
import { Store } from '../../daemon/store/store';
import * as path from 'node:path';
import { eventually, makeRepo, type TempRepo } from '../helpers/context-repo';

const DAY = 86_400;
const NOW = 1_800_000_000;

describe('context: git history and learning', () => {
  let repo: TempRepo;
  let engine: ContextEngine;
  let clock: number;
  beforeEach(async () => {
    repo = await makeRepo({
      'src/schema.ts': 'export function validateOrder(o: unknown): boolean {\n  return o !== null;\n}\n',
      'src/orders.ts': 'export function placeOrder(): void {}\n',
      'src/audit.ts': 'export function writeAuditTrail(): void {}\n',
      'src/mail.ts': 'export function sendReceipt(): void {}\n',
      'docs/orders.md': '# Orders\nHow an order is placed and validated. Order order order.\n',
    });
    repo.commit('initial', NOW - 60 * DAY);
    // orders.ts and audit.ts always change together; mail.ts changes alone, recently.
    for (let i = 0; i < 3; i++) {
      repo.write('src/orders.ts', `export function placeOrder(): void {}\n// ${i}\n`);
      repo.write('src/audit.ts', `export function writeAuditTrail(): void {}\n// ${i}\n`);
      repo.commit(`orders change ${i}`, NOW - (20 - i) * DAY);
    }
    repo.write('src/mail.ts', 'export function sendReceipt(): void {}\n// 1\n');
    repo.commit('mail', NOW - DAY);
    clock = NOW * 1000;
    engine = new ContextEngine({ store: repo.store, now: () => clock });
  });
  afterEach(async () => {
    await engine.close();
    await repo.cleanup();
  });

  async function open(): Promise<ContextProject> {
    const p = engine.project(repo.root);
    await p.ready();
    return p;
  }

  it('suggests co-changed files and gives git reasons; picks up new commits incrementally', async () => {
    const p = await open();
    const next = await p.suggestFor('src/orders.ts');
    assert.equal(next[0].path, 'src/audit.ts');
    assert.match(next[0].reasons[0], /co-changes with src\/orders.ts \(3×\)/);
    const ranked = await p.rank('place order', { openFile: 'src/orders.ts' });
    const audit = ranked.find((r) => r.path === 'src/audit.ts');
    assert.ok(
      audit?.reasons.some((r) => r.startsWith('co-changes with src/orders.ts')),
      JSON.stringify(ranked),
    );
    assert.ok(ranked.find((r) => r.path === 'src/orders.ts')?.reasons.includes('changed 3 times in the last 30 days'));
    repo.write('src/mail.ts', 'export function sendReceipt(): void {}\n// 2\n');
    repo.write('src/schema.ts', 'export function validateOrder(o: unknown): boolean {\n  return !!o;\n}\n');
    repo.commit('mail and schema', NOW);
    await eventually('the new commit is read', async () => (await p.suggestFor('src/mail.ts'))[0]?.path === 'src/schema.ts');
  });

  it('learns from answers: a file the answers use rises for similar questions, persists, explains and resets', async () => {
    let p = await open();
    const q = 'where are orders validated';
    const before = await p.rank(q, { limit: 5 });
    const rankOf = (r: Array<{ path: string }>, f: string): number => r.findIndex((x) => x.path === f);
    // The answers keep relying on the audit trail, which the question never names.
    for (let i = 0; i < 3; i++) {
      const bundle = await p.assemble(`${q} ${i}`, { tokenBudget: 2000 });
      await p.recordAnswer({
        query: `${q} ${i}`,
        attached: bundle.files.map((f) => f.path),
        answer: 'It is checked in validateOrder, then writeAuditTrail records it.',
        mentioned: ['src/audit.ts'],
      });
      clock += 20 * 60_000; // past the follow-up window
    }
    const after = await p.rank(q, { limit: 5 });
    assert.ok(
      rankOf(after, 'src/audit.ts') >= 0 && (rankOf(before, 'src/audit.ts') < 0 || rankOf(after, 'src/audit.ts') < rankOf(before, 'src/audit.ts')),
      `before ${JSON.stringify(before.map((r) => r.path))} after ${JSON.stringify(after.map((r) => r.path))}`,
    );
    assert.ok(after.find((r) => r.path === 'src/audit.ts')?.reasons.some((r) => r.startsWith('learned:')));
    const explained = await p.explain();
    assert.equal(explained.questions, 3);
    assert.equal(explained.topPriors.find((x) => x.path === 'src/audit.ts')?.helped, 3);
    assert.notDeepEqual(explained.weights, DEFAULT_WEIGHTS, 'signal weights moved');
    // Persisted: a new engine on the same store remembers.
    await engine.close();
    await repo.store.close();
    repo.store = await Store.open(path.join(repo.dir, 'data'));
    engine = new ContextEngine({ store: repo.store, now: () => clock });
    p = await open();
    assert.equal((await p.explain()).questions, 3);
    assert.deepEqual(
      (await p.rank(q, { limit: 5 })).map((r) => r.path),
      after.map((r) => r.path),
    );
    await p.resetLearning();
    const reset = await p.explain();
    assert.deepEqual([reset.questions, reset.topPriors.length, reset.weights], [0, 0, DEFAULT_WEIGHTS]);
    assert.deepEqual(
      (await p.rank(q, { limit: 5 })).map((r) => r.path),
      before.map((r) => r.path),
    );
  });

  it('credits files edited soon after an answer, and files a follow-up question needed', async () => {
    const p = await open();
    await p.watchReady();
    await p.recordAnswer({ query: 'send the receipt email', attached: ['src/mail.ts'], answer: 'See sendReceipt.' });
    repo.write('src/orders.ts', 'export function placeOrder(): void { /* sends receipt */ }\n');
    await eventually('the edit is credited', async () => (await p.explain()).topPriors.some((x) => x.path === 'src/orders.ts' && x.helped === 1));
    clock += 60_000;
    await p.recordAnswer({ query: 'and the audit?', attached: ['src/mail.ts'], answer: 'no idea', mentioned: ['src/audit.ts'] });
    const ranked = await p.rank('send the receipt email');
    const audit = ranked.find((r) => r.path === 'src/audit.ts');
    assert.ok(
      audit?.reasons.some((r) => r.includes('similar past question')),
      JSON.stringify(ranked),
    );
    assert.equal((await p.explain()).topPriors.find((x) => x.path === 'src/mail.ts')?.helped, 1, 'referenced by the first answer');
    clock += 60 * 60_000;
    await p.recordAnswer({
      query: 'schema rules',
      attached: ['src/schema.ts', 'docs/orders.md'],
      answer: 'validateOrder checks it',
      removed: ['docs/orders.md'],
    });
    const after = (await p.explain()).topPriors;
    assert.deepEqual(
      after.find((x) => x.path === 'docs/orders.md'),
      { path: 'docs/orders.md', prior: 0, helped: 0, attached: 1, removed: 1 },
    );
    assert.equal(after.find((x) => x.path === 'src/schema.ts')?.helped, 1, 'referenced through the identifier it defines');
  });
});

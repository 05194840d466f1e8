import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AidError } from '../../daemon/errors/aid-error';
import { Calendar } from '../../daemon/ledger/calendar';
import { Ledger, type RequestRecord } from '../../daemon/ledger/ledger';
import { CostReporter } from '../../daemon/ledger/report';
import { Store } from '../../daemon/store/store';
import { ErrorCodes } from '../../protocol/errors';
import { zeroUsage } from '../../daemon/providers/types';

const at = (iso: string): number => Date.parse(iso);

describe('cost', () => {
  describe('Calendar', () => {
    it("counts days in the user's zone, not UTC", () => {
      const paris = new Calendar('Europe/Paris');
      assert.equal(paris.day(at('2026-11-26T23:30:00Z')), '2026-11-27');
      assert.equal(new Calendar('America/Los_Angeles').day(at('2026-11-26T03:00:00Z')), '2026-11-25');
      assert.equal(new Calendar('UTC').day(at('2026-11-26T23:30:00Z')), '2026-11-26');
    });

    it('knows how far into the month we are, and steps back over month ends', () => {
      const utc = new Calendar('UTC');
      assert.deepEqual(utc.monthProgress(at('2026-02-15T12:00:00Z')), { firstDay: '2026-02-01', today: '2026-02-15', elapsedDays: 14.5, daysInMonth: 28 });
      assert.equal(utc.daysBefore(at('2026-03-01T10:00:00Z'), 1), '2026-02-28');
      assert.equal(utc.daysBefore(at('2026-01-05T10:00:00Z'), 7), '2025-12-29');
    });
  });

  describe('Ledger aggregates and the report', () => {
    let dir: string;
    let store: Store;
    let clock: number;
    let ledger: Ledger;
    let reporter: CostReporter;
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-cost-'));
      store = await Store.open(path.join(dir, 'data'));
      clock = at('2026-11-10T12:00:00Z');
      const calendar = new Calendar('UTC');
      ledger = new Ledger(store, () => clock, calendar);
      reporter = new CostReporter(ledger, calendar, () => clock);
    });
    afterEach(async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const row = (extra: Partial<RequestRecord>): Omit<RequestRecord, 'id' | 'time'> => ({
      host: 'anthropic',
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      sessionId: 's1',
      outcome: 'ok',
      usage: { ...zeroUsage(), inputTokens: 100, outputTokens: 10 },
      costUsd: 0.001,
      latencyMs: 5,
      ttftMs: 1,
      ...extra,
    });

    it('sums spend and every token class by dimension, counting unpriced requests apart, never as $0', async () => {
      await ledger.record(row({}));
      await ledger.record(
        row({ costUsd: 0.002, usage: { ...zeroUsage(), inputTokens: 50, cacheReadTokens: 400, cacheWriteTokens: 30, outputTokens: 20, reasoningTokens: 5 } }),
      );
      await ledger.record(row({ host: 'openai', provider: 'openai', model: 'ft:mine', costUsd: null }));
      await ledger.record(row({ host: 'ollama', provider: 'ollama', model: 'llama3.2:latest', costUsd: 0 }));
      const result = reporter.report({ by: 'provider' });
      assert.equal(result.totalUsd, 0.003);
      assert.equal(result.unpricedRequests, 1);
      assert.deepEqual(
        result.rows.map((r) => [r.key, r.usd, r.requests, r.unpricedRequests]),
        [
          ['anthropic', 0.003, 2, 0],
          ['ollama', 0, 1, 0],
          ['openai', 0, 1, 1],
        ],
      );
      const anthropic = result.rows[0];
      assert.deepEqual(
        [anthropic?.inputTokens, anthropic?.cacheReadTokens, anthropic?.cacheWriteTokens, anthropic?.outputTokens, anthropic?.reasoningTokens],
        [150, 400, 30, 30, 5],
      );
      assert.deepEqual(
        reporter.report({ by: 'model' }).rows.map((r) => r.key),
        ['claude-haiku-4-5', 'ft:mine', 'llama3.2:latest'],
      );
    });

    it('reports by source (old rows count as aid), filters by source (gateway: every gateway:*), keeps subscription use apart from spend', async () => {
      await ledger.record(row({ costUsd: 0.5 })); // written before sources existed
      await ledger.record(row({ source: 'gateway:claude-code', costUsd: 0.25 }));
      await ledger.record(row({ source: 'gateway:opencode', costUsd: 0.125, model: 'claude-sonnet-4-5' }));
      await ledger.record(row({ source: 'claude-code', billing: 'subscription', costUsd: 0, apiEquivalentUsd: 2 }));
      await ledger.record(row({ source: 'gatewayish', costUsd: 1 })); // not a gateway client: the prefix is `gateway:`
      const bySource = reporter.report({ by: 'source' });
      assert.deepEqual(
        bySource.rows.map((r) => [r.key, r.usd, r.apiEquivalentUsd, r.requests]),
        [
          ['gatewayish', 1, 0, 1],
          ['aid', 0.5, 0, 1],
          ['gateway:claude-code', 0.25, 0, 1],
          ['gateway:opencode', 0.125, 0, 1],
          ['claude-code', 0, 2, 1],
        ],
      );
      assert.equal(bySource.totalUsd, 1.875, 'subscription use is not spend');
      assert.equal(bySource.apiEquivalentUsd, 2);
      const gateway = reporter.report({ by: 'model', source: 'gateway' });
      assert.deepEqual(
        gateway.rows.map((r) => [r.key, r.usd]),
        [
          ['claude-haiku-4-5', 0.25],
          ['claude-sonnet-4-5', 0.125],
        ],
      );
      assert.equal(gateway.totalUsd, 0.375);
      assert.equal(gateway.projection.monthToDateUsd, 0.375, 'the projection follows the filter');
      assert.deepEqual(
        reporter.report({ by: 'provider', source: 'aid' }).rows.map((r) => [r.key, r.usd]),
        [['anthropic', 0.5]],
      );
      assert.deepEqual(reporter.report({ by: 'provider', source: 'codex' }).rows, []);
      // Repricing rebuilds the per-source aggregates too.
      await ledger.reprice((r) => ({ costUsd: r.costUsd }));
      assert.equal(reporter.report({ by: 'model', source: 'gateway' }).totalUsd, 0.375);
    });

    it('reports a range of days in date order, and projects the month linearly from month to date', async () => {
      clock = at('2026-11-01T08:00:00Z');
      await ledger.record(row({ costUsd: 1 }));
      clock = at('2026-11-05T08:00:00Z');
      await ledger.record(row({ costUsd: 2 }));
      clock = at('2026-10-31T08:00:00Z');
      await ledger.record(row({ costUsd: 50 })); // last month: not in this month's projection
      clock = at('2026-11-10T12:00:00Z'); // 9.5 days into a 30-day month
      const days = reporter.report({ by: 'day', since: '2026-10-31', until: 'today' });
      assert.deepEqual(
        days.rows.map((r) => [r.key, r.usd]),
        [
          ['2026-10-31', 50],
          ['2026-11-01', 1],
          ['2026-11-05', 2],
        ],
      );
      assert.equal(days.totalUsd, 53);
      assert.deepEqual(days.projection, {
        monthEndUsd: Math.round((3 / 9.5) * 30 * 1e9) / 1e9,
        monthToDateUsd: 3,
        elapsedDays: 9.5,
        daysInMonth: 30,
        method: days.projection.method,
      });
      assert.equal(reporter.report({ by: 'day' }).totalUsd, 3, 'by default, this month');
      assert.equal(reporter.report({ by: 'day', since: '5d' }).rows.length, 1, 'the last five days hold one of them');
      assert.equal(reporter.report({ by: 'day', since: 'yesterday', until: 'yesterday' }).rows.length, 0);
    });

    it('refuses a date it cannot read, or a range that ends before it starts', () => {
      for (const [params, pattern] of [
        [{ since: '2026-02-30' }, /--since '2026-02-30': expected YYYY-MM-DD, today, yesterday or Nd/],
        [{ until: 'last tuesday' }, /--until 'last tuesday'/],
        [{ since: '2026-11-09', until: '2026-11-01' }, /--since 2026-11-09 is after --until 2026-11-01/],
      ] as const) {
        assert.throws(
          () => reporter.report(params),
          (error: unknown) => error instanceof AidError && error.code === ErrorCodes.InvalidParams && pattern.test(error.message),
        );
      }
    });

    it('--reprice prices history again and rebuilds the aggregates, losing nothing recorded meanwhile', async () => {
      await ledger.record(row({ model: 'new-model', costUsd: null }));
      await ledger.record(row({ model: 'new-model', costUsd: null }));
      await ledger.record(row({ costUsd: 0.001 }));
      assert.equal(reporter.report({}).unpricedRequests, 2);
      const during = ledger.record(row({ costUsd: 0.5, model: 'other' }));
      const result = await ledger.reprice((r) =>
        r.model === 'new-model'
          ? { costUsd: 0.25, price: { source: 'config', inputPerMTok: 1, outputPerMTok: 2 }, calculatedUsd: 0.25 }
          : { costUsd: r.costUsd },
      );
      await during;
      assert.deepEqual([result.changed, result.beforeUsd >= 0.001], [2, true]);
      const after = reporter.report({ by: 'model' });
      assert.equal(after.unpricedRequests, 0);
      assert.equal(after.totalUsd, 1.001);
      assert.deepEqual(
        after.rows.map((r) => [r.key, r.usd, r.requests]),
        [
          ['new-model', 0.5, 2],
          ['other', 0.5, 1],
          ['claude-haiku-4-5', 0.001, 1],
        ],
      );
    });

    it('counts every value on the last day of a range, whatever its characters', async () => {
      await ledger.record(row({ project: '/home/me/🚀-app' }));
      assert.deepEqual(
        reporter.report({ by: 'project', since: 'today', until: 'today' }).rows.map((r) => r.key),
        ['/home/me/🚀-app'],
      );
    });

    it('keeps aggregates exact under 200 concurrent writes', async () => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => ledger.record(row({ sessionId: `s${i % 7}`, costUsd: 0.25 }))));
      assert.equal(ledger.count(), 200);
      const bySession = reporter.report({ by: 'session' });
      assert.equal(bySession.totalUsd, 50);
      assert.equal(
        bySession.rows.reduce((n, r) => n + r.requests, 0),
        200,
      );
      assert.equal(reporter.report({ by: 'host' }).rows[0]?.requests, 200);
    });
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BudgetAlerts, DesktopSink, WebhookSink, type AlertSink } from '../../daemon/budget/alerts';
import { Budgets } from '../../daemon/budget/budgets';
import { Calendar } from '../../daemon/ledger/calendar';
import { Ledger } from '../../daemon/ledger/ledger';
import { CostReporter } from '../../daemon/ledger/report';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { zeroUsage } from '../../daemon/providers/types';
import { Store } from '../../daemon/store/store';
import type { AlertParams } from '../../protocol/budget';

describe('budget alerts', () => {
  let dir: string;
  let store: Store;
  let logger: FileLogger;
  let clock: number;
  let ledger: Ledger;
  let budgets: Budgets;
  let sent: AlertParams[];
  const sink: AlertSink = { name: 'test', send: (a) => Promise.resolve(void sent.push(a)) };

  async function open(): Promise<BudgetAlerts> {
    store = await Store.open(path.join(dir, 'data'));
    const calendar = new Calendar('UTC');
    ledger = new Ledger(store, () => clock, calendar);
    budgets = new Budgets(store, ledger, calendar, () => clock);
    return new BudgetAlerts({ store, budgets, reporter: new CostReporter(ledger, calendar, () => clock), sinks: () => [sink], logger, now: () => clock });
  }
  const spend = (usd: number): Promise<unknown> =>
    ledger.record({
      host: 'openai',
      provider: 'openai',
      model: 'gpt-4o',
      sessionId: 's',
      outcome: 'ok',
      usage: { ...zeroUsage(), inputTokens: 10 },
      costUsd: usd,
      latencyMs: 1,
      ttftMs: 1,
    });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-alerts-'));
    logger = new FileLogger({ file: path.join(dir, 'aid.log'), level: 'info', redactor: new Redactor(), stderr: false });
    clock = Date.parse('2026-11-10T12:00:00Z');
    sent = [];
  });
  afterEach(async () => {
    await store.close();
    logger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fires each threshold once per window, only the highest when several are crossed at once', async () => {
    const alerts = await open();
    await budgets.set({ name: 'monthly', limitUsd: 10, period: 'month', alerts: [50, 80, 100] });
    await spend(4);
    assert.deepEqual(await alerts.check(), []);
    await spend(1.5); // 55%
    assert.deepEqual(
      (await alerts.check()).map((a) => a.percent),
      [55],
    );
    assert.deepEqual(await alerts.check(), [], 'not again');
    await spend(5); // 105%: 80 and 100 crossed together
    const fired = await alerts.check();
    assert.equal(fired.length, 1);
    assert.match(fired[0]?.message ?? '', /^budget 'monthly' has used \$10\.50 of \$10\.00 this month \(105%, past the 100% alert\)$/);
    assert.equal(sent.length, 2);
    clock = Date.parse('2026-12-02T12:00:00Z'); // a new month, a new window
    await spend(6);
    assert.deepEqual(
      (await alerts.check()).map((a) => a.percent),
      [60],
    );
  });

  it('a restart neither repeats a sent alert nor loses one left pending', async () => {
    let alerts = await open();
    await budgets.set({ name: 'daily', limitUsd: 1, period: 'day', hard: true, alerts: [50, 100] });
    await spend(0.6);
    await alerts.check();
    assert.equal(sent.length, 1);
    await store.close();
    alerts = await open();
    assert.deepEqual(await alerts.check(), [], 'the 50% alert is not sent again after a restart');
    // A crash between persisting an alert and sending it leaves it pending: it goes out at the next check.
    await store
      .db('alerts')
      .put(`daily\u00002026-11-10\u0000100`, { state: 'pending', alert: { kind: 'threshold', title: 't', message: 'pending one' }, at: clock });
    const resent = await alerts.check();
    assert.deepEqual(
      resent.map((a) => a.message),
      ['pending one'],
    );
    assert.deepEqual(await alerts.check(), []);
  });

  it('the morning report covers the whole of yesterday, with the projection and the budgets', async () => {
    const alerts = await open();
    await budgets.set({ name: 'monthly', limitUsd: 100, period: 'month' });
    clock = Date.parse('2026-11-09T21:00:00Z');
    await spend(2.5);
    clock = Date.parse('2026-11-10T09:00:00Z');
    await spend(1); // today: not in yesterday's report
    const report = await alerts.report('day');
    assert.equal(report.title, 'aid: spend yesterday $2.50');
    assert.match(
      report.message,
      /^\$2\.50 yesterday \(2026-11-09\): openai \$2\.50 \(1 requests\); month to date \$3\.50, projected \$11\.20 by month end; budgets: monthly 4% of \$100\.00\/month$/,
    );
  });

  it('raising a budget re-arms its thresholds in the same window', async () => {
    const alerts = await open();
    await budgets.set({ name: 'b', limitUsd: 10, period: 'month', alerts: [50] });
    await spend(6);
    assert.equal((await alerts.check()).length, 1);
    await budgets.set({ name: 'b', limitUsd: 100, period: 'month', alerts: [50] });
    await spend(50);
    assert.deepEqual(
      (await alerts.check()).map((a) => a.percent),
      [56],
    );
  });

  it('the desktop sink runs notify-send with the title and message, and is quiet where there is none', async () => {
    await open();
    const fake = path.join(dir, 'notify-send');
    const out = path.join(dir, 'notified.txt');
    fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\n`, { mode: 0o755 });
    await new DesktopSink(fake).send({ kind: 'threshold', title: 'aid: budget b at 80%', message: 'used $8 of $10' });
    assert.deepEqual(fs.readFileSync(out, 'utf8').trim().split('\n'), ['--app-name=aid', 'aid: budget b at 80%', 'used $8 of $10']);
    await new DesktopSink(path.join(dir, 'no-such-command')).send({ kind: 'report', title: 't', message: 'm' });
  });

  it('the webhook gets Slack-compatible JSON, retried after a failure', async () => {
    await open();
    const bodies: string[] = [];
    let calls = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        calls++;
        bodies.push(body);
        res.writeHead(calls === 1 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      await new WebhookSink(url, { backoffMs: 10 }).send({ kind: 'threshold', title: 'aid: budget x at 80%', message: 'used $8 of $10' });
      assert.equal(calls, 2, 'the 503 was retried');
      assert.deepEqual((JSON.parse(bodies[1] ?? '{}') as { text: string }).text, '*aid: budget x at 80%*\nused $8 of $10');
      const dead = new WebhookSink('http://127.0.0.1:1/hook', { attempts: 2, backoffMs: 5 });
      await assert.rejects(dead.send({ kind: 'report', title: 't', message: 'm' }), /webhook 127\.0\.0\.1:1 refused the alert/);
    } finally {
      server.close();
    }
  });
});

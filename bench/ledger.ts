import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Budgets } from '../daemon/budget/budgets';
import { Calendar } from '../daemon/ledger/calendar';
import { Ledger } from '../daemon/ledger/ledger';
import { Store } from '../daemon/store/store';
import { CostRequest } from '../protocol/cost';
import { AIC_BIN, aid, connect, makeSandbox, teardown } from '../test/helpers/daemon';
import type { Summary } from './streams';

const PROVIDERS = ['anthropic', 'openai', 'gemini', 'openrouter'] as const;

/**
 * The ledger at scale: write throughput while filling it with a million rows over the last 60
 * days, then `aic cost` and the aid/cost RPC over them, and the cost of a hard-budget check.
 */
export async function benchLedger(summary: (samples: number[]) => Summary, ms: (n: number) => string): Promise<string[]> {
  const rows = Number(process.env.BENCH_LEDGER_ROWS ?? 1_000_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-bench-ledger-'));
  const lines: string[] = [];
  try {
    const store = await Store.open(dataDir);
    const end = Date.now();
    const step = (60 * 86_400_000) / rows;
    let i = 0;
    const ledger = new Ledger(store, () => end - 60 * 86_400_000 + i * step, new Calendar(Calendar.systemZone()));
    const started = performance.now();
    // Batches of concurrent writes, as a busy daemon would issue them; lmdb commits each batch together.
    for (; i < rows;) {
      const batch: Promise<unknown>[] = [];
      for (let j = 0; j < 1000 && i < rows; j++, i++) {
        const provider = PROVIDERS[i % PROVIDERS.length];
        batch.push(
          ledger.record({
            host: provider,
            provider,
            model: `${provider}-model-${i % 7}`,
            sessionId: `session-${i % 10_000}`,
            outcome: 'ok',
            usage: { inputTokens: 1000, outputTokens: 200, cacheReadTokens: 500, cacheWriteTokens: 0, reasoningTokens: 0 },
            costUsd: i % 50 === 0 ? null : 0.0012,
            latencyMs: 900,
            ttftMs: 300,
          }),
        );
      }
      await Promise.all(batch);
    }
    const writeMs = performance.now() - started;
    lines.push(
      `### Ledger (${rows.toLocaleString('en-US')} rows over 60 days, 4 providers, 28 models, 10,000 sessions)`,
      '',
      '| measure | result |',
      '|---|---|',
    );
    lines.push(
      `| ledger writes (row + 6 aggregates per transaction, 1,000 in flight) | ${Math.round(rows / (writeMs / 1000)).toLocaleString('en-US')} rows/s |`,
    );

    // A hard-budget check and hold, as AskService does before each request: 5 budgets.
    const calendar = new Calendar(Calendar.systemZone());
    const budgets = new Budgets(store, ledger, calendar);
    for (const [n, scope] of [
      ['all', undefined],
      ['a', { kind: 'provider', value: 'anthropic' } as const],
      ['o', { kind: 'provider', value: 'openai' } as const],
      ['m', { kind: 'model', value: 'openai-model-1' } as const],
      ['h', { kind: 'host', value: 'openai' } as const],
    ] as const) {
      await budgets.set({ name: n, limitUsd: 1e6, period: 'month', hard: true, ...(scope ? { scope } : {}) });
    }
    const checks: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const t = performance.now();
      const outcome = budgets.reserve({ provider: 'openai', host: 'openai', model: 'openai-model-1', sessionId: 's' }, 0.01);
      if (outcome.ok) outcome.reservation.release();
      checks.push(performance.now() - t);
    }
    const c = summary(checks);
    const us = (n: number): string => `${Math.round(n * 1000)} µs`;
    lines.push(`| hard-budget check and hold before a request (5 budgets, 4 matching) | p50 ${us(c.median)}, p99 ${us(c.p99)} |`);
    await store.close();

    // aic cost against a daemon serving this data.
    const sandbox = makeSandbox({ env: { AID_DATA_DIR: dataDir } });
    try {
      if ((await aid(['start'], sandbox)).code !== 0) throw new Error('could not start aid');
      const session = await connect(sandbox);
      const rpc: number[] = [];
      for (const by of ['provider', 'model', 'day', 'session'] as const) {
        for (let k = 0; k < 10; k++) {
          const t = performance.now();
          await session.connection.sendRequest(CostRequest, { by, since: '60d' });
          if (by === 'provider') rpc.push(performance.now() - t);
        }
      }
      const bySession: number[] = [];
      for (let k = 0; k < 5; k++) {
        const t = performance.now();
        await session.connection.sendRequest(CostRequest, { by: 'session', since: '60d' });
        bySession.push(performance.now() - t);
      }
      session.close();
      const env = { ...sandbox.env, AID_NO_AUTOSTART: '1' };
      const wall: number[] = [];
      for (let k = 0; k < 10; k++) {
        const t = performance.now();
        const result = spawnSync(process.execPath, [AIC_BIN, 'cost', '--since', '60d'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        if (result.status !== 0) throw new Error(`aic cost failed: ${result.stderr.toString()}`);
        wall.push(performance.now() - t);
      }
      lines.push(`| aid/cost RPC, by provider over 60 days | p50 ${ms(summary(rpc).median)} |`);
      lines.push(`| aid/cost RPC, by session over 60 days (10,000 sessions) | p50 ${ms(summary(bySession).median)} |`);
      lines.push(`| \`aic cost --since 60d\` wall time, whole process | median ${ms(summary(wall).median)} |`, '');
    } finally {
      await teardown(sandbox);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return lines;
}

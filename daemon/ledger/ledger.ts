import { randomUUID } from 'node:crypto';
import type { Usage } from '../../protocol/chat';
import type { CostRow } from '../../protocol/cost';
import { Calendar } from './calendar';
import type { ProviderKind } from '../../protocol/hosts';
import type { PriceRecord } from '../pricing/price-book';
import type { Price } from '../../protocol/models';
import type { Store } from '../store/store';

/** One provider call, whatever its outcome. Cost accounting grows from here. */
export interface RequestRecord {
  id: string;
  time: number;
  host: string;
  provider: ProviderKind;
  model: string;
  sessionId: string;
  project?: string;
  /** What kind of task the prompt was (quick question, code review, …). */
  taskClass?: string;
  /**
   * Who made the call: `aid` (the daemon's own asks; rows written before sources existed count as
   * `aid`), `gateway:<client>` (a tool through the HTTP gateway), or an import source
   * (`claude-code`, `codex`, …) for usage read from another assistant's logs.
   */
  source?: string;
  /** How the call is paid: `api` (spend, the default) or `subscription` (a plan: actual spend 0). */
  billing?: 'api' | 'subscription';
  /** What a subscription call would have cost at API prices (aid's own price book). */
  apiEquivalentUsd?: number;
  /** The provider's ids for the call, so an import of the same tool's logs never counts it twice. */
  upstream?: { messageId?: string; requestId?: string };
  /** `interrupted`: the daemon died while the call was in flight; settled at the next start. */
  outcome: 'ok' | 'error' | 'cancelled' | 'interrupted';
  error?: string;
  /** Every token class, as normalised (cacheWrite1hTokens is the 1-hour part of cacheWriteTokens). */
  usage: Usage;
  /**
   * True when the provider sent no (or only partial) counts and the usage is estimated from what
   * was sent and received: a cut or cancelled stream, or a call a crash interrupted.
   */
  usageEstimated?: boolean;
  /** What the call cost: the provider's figure when it reported one, else computed; null = unpriced. */
  costUsd: number | null;
  /** The rates used and where they came from (dataset and version, config, listing). */
  price?: PriceRecord;
  /** Computed from the rates; differs from costUsd when the provider reported its own figure. */
  calculatedUsd?: number;
  providerCostUsd?: number;
  latencyMs: number;
  ttftMs: number | null;
}

/**
 * A provider call as it is about to be sent, written durably before it is: a crash while it is in
 * flight leaves this behind, and the next start settles it into a row (charged an estimate), so
 * no call is lost and budgets still count it.
 */
export interface PendingCall extends Pick<RequestRecord, 'id' | 'time' | 'host' | 'provider' | 'model' | 'sessionId' | 'project' | 'taskClass' | 'source'> {
  /** The session turn the call answers, whose saved partial answer tells what was received. */
  turn?: number;
  /** Rates the host's listing gave (OpenRouter), to price the estimate as the call would have been. */
  listed?: Price;
  /** Estimated counts of what was sent (the whole conversation, context included). */
  sent: Usage;
}

/** Why a call that a crash left in flight ended. */
export const INTERRUPTED = 'the aid daemon stopped while this call was in flight (charged an estimate: it may have reached the provider)';

/** How a call ended, to be written over its pending entry. */
export type CallOutcome = Omit<RequestRecord, 'id' | 'time' | 'host' | 'provider' | 'model' | 'sessionId' | 'project' | 'taskClass' | 'source'>;

/** The dimensions spend is reported by (`aic cost --by`). */
export const COST_DIMENSIONS = ['provider', 'model', 'host', 'day', 'session', 'project', 'source'] as const;
export type CostDimension = (typeof COST_DIMENSIONS)[number];

/** Spend and tokens summed over some rows: a report row without its key. */
export type Totals = Omit<CostRow, 'key'>;

export function emptyTotals(): Totals {
  return {
    usd: 0,
    apiEquivalentUsd: 0,
    requests: 0,
    unpricedRequests: 0,
    estimatedRequests: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}

/** A row's source; rows written before sources existed are the daemon's own. */
export const sourceOf = (row: { source?: string }): string => row.source ?? 'aid';

/** `--source S` matches S itself and every `S:...` (`gateway` matches every `gateway:<client>`). */
export const sourceMatches = (filter: string, source: string): boolean => source === filter || source.startsWith(`${filter}:`);

function add(totals: Totals, row: { costUsd: number | null; usage: Usage; usageEstimated?: boolean; apiEquivalentUsd?: number }): Totals {
  return {
    usd: totals.usd + (row.costUsd ?? 0),
    // Aggregates written before subscriptions existed have none.
    apiEquivalentUsd: (totals.apiEquivalentUsd ?? 0) + (row.apiEquivalentUsd ?? 0),
    requests: totals.requests + 1,
    unpricedRequests: totals.unpricedRequests + (row.costUsd === null ? 1 : 0),
    // Aggregates written before this count existed have none.
    estimatedRequests: (totals.estimatedRequests ?? 0) + (row.usageEstimated ? 1 : 0),
    inputTokens: totals.inputTokens + row.usage.inputTokens,
    outputTokens: totals.outputTokens + row.usage.outputTokens,
    cacheReadTokens: totals.cacheReadTokens + row.usage.cacheReadTokens,
    cacheWriteTokens: totals.cacheWriteTokens + row.usage.cacheWriteTokens,
    reasoningTokens: totals.reasoningTokens + row.usage.reasoningTokens,
  };
}

export function sumTotals(a: Totals, b: Totals): Totals {
  const out = emptyTotals();
  for (const key of Object.keys(out) as (keyof Totals)[]) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

/** Aggregate key: dimension, day, value; days sort as dates, so a date range is a key range. */
const aggregateKey = (dimension: string, day: string, value: string): string => `${dimension}\u0000${day}\u0000${value}`;

/** The same aggregates kept per source, for `aic cost --source S`: the dimension's name with the source. */
const bySource = (dimension: CostDimension, source: string): string => `${dimension}@${source}`;

/** The `YYYY-MM-DD` after a `YYYY-MM-DD` (calendar arithmetic in UTC, where days do not shift). */
function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

export class Ledger {
  /** Bumped after every committed row: readers that cache sums know when to read again. */
  private writes = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly calendar: Calendar = new Calendar('UTC'),
  ) {}

  /**
   * Durable once the promise resolves. The row and its day's aggregates (per provider, model,
   * host, day, session and project) commit in one transaction, so reports never disagree with
   * the rows and stay fast at a million of them. Keys sort by time.
   */
  async record(entry: Omit<RequestRecord, 'id' | 'time'>): Promise<RequestRecord> {
    const time = this.now();
    const record: RequestRecord = { id: this.newId(time), time, ...entry };
    await this.store.transaction(() => this.write(record));
    this.writes++;
    return record;
  }

  private newId(time: number): string {
    return `${time.toString(36).padStart(10, '0')}-${randomUUID().slice(0, 8)}`;
  }

  /** The row and its aggregates; inside a write transaction. */
  private write(record: RequestRecord): void {
    const day = this.calendar.day(record.time);
    const aggregates = this.store.db<Totals>('aggregates');
    void this.store.db<RequestRecord>('requests').put(record.id, record);
    for (const key of this.aggregateKeys(record, day)) void aggregates.put(key, add(aggregates.get(key) ?? emptyTotals(), record));
  }

  /** Every aggregate a row counts in: each dimension's, and the same per the row's source. */
  private aggregateKeys(record: RequestRecord, day: string): string[] {
    const source = sourceOf(record);
    return this.dimensionsOf(record, day).flatMap(([dimension, value]) => [
      aggregateKey(dimension, day, value),
      aggregateKey(bySource(dimension, source), day, value),
    ]);
  }

  /**
   * Writes a call about to be sent, durably (resolves once committed): a crash from here on leaves
   * it to `settleInterrupted`. Settle it with `settle` when the call ends, whatever its outcome.
   */
  async open(call: Omit<PendingCall, 'id' | 'time'>): Promise<PendingCall> {
    const time = this.now();
    const pending: PendingCall = { id: this.newId(time), time, ...call };
    await this.store.db<PendingCall>('pending').put(pending.id, pending);
    return pending;
  }

  /** The call's row, written over its pending entry in one transaction: never both, never neither. */
  async settle(pending: PendingCall, outcome: CallOutcome): Promise<RequestRecord> {
    // The row keeps the time the call was sent: its day is the day it was made.
    const { sent: _sent, turn: _turn, listed: _listed, ...who } = pending;
    const record: RequestRecord = { ...who, ...outcome };
    await this.store.transaction(() => {
      this.write(record);
      void this.store.db<PendingCall>('pending').remove(pending.id);
    });
    this.writes++;
    return record;
  }

  /** Calls a crash left in flight. */
  interrupted(): PendingCall[] {
    return [...this.store.db<PendingCall>('pending').getRange()].map((e) => e.value);
  }

  /**
   * Settles what a crash left: each pending call becomes an `interrupted` row charged what
   * `estimate` says (flagged as estimated), in one transaction, so budgets count it from the first
   * request after the restart. Returns each call with the row written for it.
   */
  async settleInterrupted(
    estimate: (pending: PendingCall) => Pick<RequestRecord, 'usage' | 'costUsd' | 'price' | 'calculatedUsd'>,
  ): Promise<{ pending: PendingCall; record: RequestRecord }[]> {
    const settled = this.interrupted().map((pending) => {
      const { sent: _sent, turn: _turn, listed: _listed, ...who } = pending;
      const record: RequestRecord = {
        ...who,
        outcome: 'interrupted',
        error: INTERRUPTED,
        usageEstimated: true,
        latencyMs: 0,
        ttftMs: null,
        ...estimate(pending),
      };
      return { pending, record };
    });
    if (settled.length === 0) return [];
    await this.store.transaction(() => {
      for (const { record } of settled) {
        this.write(record);
        void this.store.db<PendingCall>('pending').remove(record.id);
      }
    });
    this.writes++;
    return settled;
  }

  /**
   * Recomputes every row's cost with `price` (the current rates) and rebuilds the aggregates from
   * the rows, in one write transaction: requests recorded meanwhile wait for it, so nothing is
   * counted twice or lost.
   */
  async reprice(
    price: (row: RequestRecord) => Pick<RequestRecord, 'costUsd' | 'price' | 'calculatedUsd' | 'providerCostUsd'>,
  ): Promise<{ rows: number; changed: number; beforeUsd: number; afterUsd: number }> {
    const requests = this.store.db<RequestRecord>('requests');
    const aggregates = this.store.db<Totals>('aggregates');
    const result = await this.store.transaction(() => {
      const sums = new Map<string, Totals>();
      let rows = 0;
      let changed = 0;
      let beforeUsd = 0;
      let afterUsd = 0;
      for (const { key, value } of requests.getRange()) {
        const row = value;
        const priced = price(row);
        rows++;
        beforeUsd += row.costUsd ?? 0;
        afterUsd += priced.costUsd ?? 0;
        let next = row;
        if (priced.costUsd !== row.costUsd || JSON.stringify(priced.price) !== JSON.stringify(row.price)) {
          // The old rates go: the row carries the new ones (or none, when now unpriced).
          next = { ...row, ...priced };
          if (!priced.price) delete next.price;
          if (priced.calculatedUsd === undefined) delete next.calculatedUsd;
          void requests.put(String(key), next);
          changed++;
        }
        for (const k of this.aggregateKeys(next, this.calendar.day(next.time))) sums.set(k, add(sums.get(k) ?? emptyTotals(), next));
      }
      for (const { key } of aggregates.getRange()) void aggregates.remove(key);
      for (const [key, totals] of sums) void aggregates.put(key, totals);
      return { rows, changed, beforeUsd, afterUsd };
    });
    this.writes++;
    return result;
  }

  /** Changes whenever a row was committed. */
  get version(): number {
    return this.writes;
  }

  private dimensionsOf(record: RequestRecord, day: string): [CostDimension, string][] {
    return [
      ['provider', record.provider],
      ['model', record.model],
      ['host', record.host],
      ['day', day],
      ['session', record.sessionId],
      ['project', record.project ?? '(none)'],
      ['source', sourceOf(record)],
    ];
  }

  /** Totals per value of one dimension over the days `since`..`until` (inclusive, `YYYY-MM-DD`). */
  totalsBy(dimension: CostDimension, since: string, until: string, source?: string): Map<string, Totals> {
    if (source === undefined) return this.sumRange(dimension, since, until, new Map());
    // The sources of the range that the filter matches, each read from its own aggregates.
    const out = new Map<string, Totals>();
    for (const name of this.sumRange('source', since, until, new Map()).keys()) {
      if (sourceMatches(source, name)) this.sumRange(bySource(dimension, name), since, until, out);
    }
    return out;
  }

  private sumRange(dimension: string, since: string, until: string, out: Map<string, Totals>): Map<string, Totals> {
    const aggregates = this.store.db<Totals>('aggregates');
    // Exclusive end at the next day: any value, whatever its characters, of `until` is in.
    for (const { key, value } of aggregates.getRange({ start: aggregateKey(dimension, since, ''), end: aggregateKey(dimension, nextDay(until), '') })) {
      const name = String(key).split('\u0000')[2] ?? '';
      out.set(name, sumTotals(out.get(name) ?? emptyTotals(), value));
    }
    return out;
  }

  /** From lmdb's page statistics: O(1), where getCount walks every key (aid/status calls this). */
  count(): number {
    return (this.store.db<RequestRecord>('requests').getStats() as { entryCount: number }).entryCount;
  }

  /** Rows from `time` on, oldest first (keys sort by time). */
  *since(time: number): Generator<RequestRecord> {
    for (const { value } of this.store.db<RequestRecord>('requests').getRange({ start: time.toString(36).padStart(10, '0') })) yield value;
  }

  recent(limit: number): RequestRecord[] {
    const rows: RequestRecord[] = [];
    for (const { value } of this.store.db<RequestRecord>('requests').getRange({ reverse: true, limit })) rows.push(value);
    return rows;
  }
}

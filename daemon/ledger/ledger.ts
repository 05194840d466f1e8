import { randomUUID } from 'node:crypto';
import type { Usage } from '../../protocol/chat';
import type { ProviderKind } from '../../protocol/hosts';
import type { PriceRecord } from '../pricing/price-book';
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
  outcome: 'ok' | 'error' | 'cancelled';
  error?: string;
  /** Every token class, as normalised (cacheWrite1hTokens is the 1-hour part of cacheWriteTokens). */
  usage: Usage;
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

export class Ledger {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Durable once the promise resolves. Keys sort by time, so ranges by date are cheap later. */
  async record(entry: Omit<RequestRecord, 'id' | 'time'>): Promise<RequestRecord> {
    const time = this.now();
    const id = `${time.toString(36).padStart(10, '0')}-${randomUUID().slice(0, 8)}`;
    const record: RequestRecord = { id, time, ...entry };
    await this.store.db<RequestRecord>('requests').put(id, record);
    return record;
  }

  /** From lmdb's page statistics: O(1), where getCount walks every key (aid/status calls this). */
  count(): number {
    return (this.store.db<RequestRecord>('requests').getStats() as { entryCount: number }).entryCount;
  }

  recent(limit: number): RequestRecord[] {
    const rows: RequestRecord[] = [];
    for (const { value } of this.store.db<RequestRecord>('requests').getRange({ reverse: true, limit })) rows.push(value);
    return rows;
  }
}

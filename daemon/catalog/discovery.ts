import type { DiscoveredModel } from '../providers/types';
import type { HostDefinition } from './hosts';

/** A host's model list as last fetched. */
export interface CachedList {
  baseUrl: string;
  fetchedAt: number;
  models: DiscoveredModel[];
}

/** Where lists persist across restarts: an lmdb database in the daemon, nothing in unit tests. */
export interface ListStore {
  get(key: string): CachedList | undefined;
  put(key: string, value: CachedList): Promise<unknown>;
  remove(key: string): Promise<unknown>;
}

/**
 * Model lists per host, in memory and (when given a store) on disk, so `aic models` answers at
 * once after a restart. A list fetched from another base URL (the host was moved) is ignored.
 */
export class DiscoveryCache {
  private readonly memory = new Map<string, CachedList>();

  constructor(
    private readonly store?: ListStore,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  get(host: HostDefinition): CachedList | undefined {
    const list = this.memory.get(host.name) ?? this.store?.get(host.name);
    if (!list || list.baseUrl !== host.baseUrl) return undefined;
    this.memory.set(host.name, list);
    return list;
  }

  async put(host: HostDefinition, models: DiscoveredModel[], fetchedAt: number): Promise<void> {
    const list = { baseUrl: host.baseUrl, fetchedAt, models };
    this.memory.set(host.name, list);
    // A list that cannot be persisted is still served from memory.
    await this.store?.put(host.name, list).catch(this.onError);
  }

  async invalidate(hostName: string): Promise<void> {
    this.memory.delete(hostName);
    await this.store?.remove(hostName).catch(this.onError);
  }
}

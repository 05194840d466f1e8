import { ErrorCodes } from '../../protocol/errors';
import type { ModelInfo, ModelsResult, Price } from '../../protocol/models';
import { AidError } from '../errors/aid-error';
import type { Logger } from '../log/logger';
import { CallCost } from '../pricing/call-cost';
import type { PriceBook, PriceTarget } from '../pricing/price-book';
import type { DiscoveredModel, ModelManager, ProviderAdapter } from '../providers/types';
import { ProviderError, isModelManager } from '../providers/types';
import { DiscoveryCache } from './discovery';
import type { HostEntry, HostHealth } from './host-health';
import type { HostDefinition } from './hosts';
import { chatModels } from './model-match';
import { knownContextWindow } from './windows';

/** What a call to a resolved model is priced as: pricing's one rule, fed from the catalog. */
export function priceTargetOf(m: ResolvedModel): PriceTarget {
  return CallCost.target({ provider: m.host.provider, host: m.host.name, model: m.model, ...(m.listed ? { listed: m.listed } : {}) });
}

/** Deadline of a background list refresh, which nobody waits on. */
const BACKGROUND_LIST_MS = 30_000;

/** A model on a host, as a request would go to it. */
export interface ResolvedModel {
  host: HostDefinition;
  adapter: ProviderAdapter;
  model: string;
  ref: string;
  price: ModelInfo['price'];
  /** Rates the host's own listing gave (OpenRouter), for pricing the call. */
  listed?: Price;
  /** The model's context window, from the host's listing or the maintained table. */
  contextWindow?: number;
}

export interface ModelCatalogOptions {
  /** List prices for `aic models` and cheapest-first routing; without it only Ollama and listed prices are known. */
  prices?: PriceBook;
  /** Model lists by host; in memory only when not given. */
  cache?: DiscoveryCache;
  /** A list younger than this is served without asking the host (default 60 s). */
  freshMs?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * What every host serves: model lists cached in memory and lmdb and served stale-while-revalidate,
 * refreshed in the background while hosts are up, with each model's kind, window and price.
 */
export class ModelCatalog {
  private readonly now: () => number;
  private readonly cache: DiscoveryCache;
  private readonly freshMs: number;
  /** One background refresh per host at a time. */
  private readonly refreshing = new Map<string, Promise<void>>();
  /**
   * Bumped when a host's list is invalidated or fetched on demand: a fetch that started before
   * does not write its older answer over the newer state.
   */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly health: HostHealth,
    private readonly options: ModelCatalogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cache = options.cache ?? new DiscoveryCache();
    this.freshMs = options.freshMs ?? 60_000;
    // Lists of live hosts stay fresh, so an `aic models` seldom even serves an old one.
    health.whenUp((entry) => this.refreshIfOld(entry));
  }

  /** Refreshes a host's list in the background when it is missing or older than freshMs. */
  refreshIfOld(entry: HostEntry): void {
    const cached = this.cache.get(entry.definition);
    if (!cached || this.now() - cached.fetchedAt >= this.freshMs) this.refreshInBackground(entry);
  }

  private generation(hostName: string): number {
    return this.generations.get(hostName) ?? 0;
  }

  private bump(hostName: string): void {
    this.generations.set(hostName, this.generation(hostName) + 1);
  }

  /**
   * Asks the host for its models now and caches the answer, unless the host's list was
   * invalidated or fetched anew meanwhile. Someone waiting waits at most the probe deadline and
   * can cancel (`caller`); a background refresh, which nobody waits on, gets longer, so a big
   * listing over a slow link still lands.
   */
  private async fetchList(entry: HostEntry, waiting: boolean, caller?: AbortSignal): Promise<DiscoveredModel[]> {
    if (!entry.adapter) throw new ProviderError('unreachable', entry.status.error ?? 'host not usable');
    const name = entry.definition.name;
    if (waiting) this.bump(name);
    const generation = this.generation(name);
    const deadlineMs = waiting ? this.health.timeoutMs : Math.max(this.health.timeoutMs, BACKGROUND_LIST_MS);
    const deadline = AbortSignal.timeout(deadlineMs);
    const signal = caller ? AbortSignal.any([caller, deadline]) : deadline;
    let models: DiscoveredModel[];
    try {
      models = await entry.adapter.listModels(signal);
    } catch (error) {
      if (caller?.aborted) throw new ProviderError('cancelled', 'request cancelled');
      if (deadline.aborted) throw new ProviderError('timeout', `no answer within ${deadlineMs} ms from ${entry.definition.baseUrl}`);
      throw error;
    }
    if (this.generation(name) === generation) await this.cache.put(entry.definition, models, this.now());
    return models;
  }

  private refreshInBackground(entry: HostEntry): void {
    const name = entry.definition.name;
    if (this.refreshing.has(name)) return;
    const job = this.fetchList(entry, false)
      .then(() => undefined)
      .catch((error: unknown) => this.options.logger.debug('background model refresh failed', { host: name, error }))
      .finally(() => this.refreshing.delete(name));
    this.refreshing.set(name, job);
  }

  /**
   * A host's models without making the caller wait on the host when a list is known
   * (stale-while-revalidate): a fresh list is served as is, an old one is served and refreshed
   * in the background, none (or `refresh`) means asking now. When asking fails, an old list is
   * still better than nothing and is returned with the error.
   */
  async discover(entry: HostEntry, refresh = false, signal?: AbortSignal): Promise<{ models: DiscoveredModel[]; ageMs: number; error?: string }> {
    const cached = this.cache.get(entry.definition);
    if (cached && !refresh) {
      const ageMs = this.now() - cached.fetchedAt;
      if (ageMs >= this.freshMs) this.refreshInBackground(entry);
      return { models: cached.models, ageMs };
    }
    try {
      return { models: await this.fetchList(entry, true, signal), ageMs: 0 };
    } catch (error) {
      if (!cached) throw error;
      return { models: cached.models, ageMs: this.now() - cached.fetchedAt, error: (error as Error).message };
    }
  }

  async invalidateModels(hostName: string): Promise<void> {
    this.bump(hostName);
    await this.cache.invalidate(hostName);
  }

  private toModelInfo(entry: HostEntry, model: DiscoveredModel): ModelInfo {
    return {
      ref: `${entry.definition.name}/${model.id}`,
      host: entry.definition.name,
      provider: entry.definition.provider,
      model: model.id,
      kind: model.kind ?? 'chat',
      ...this.windowOf(entry, model),
      // Local models cost nothing; listed prices (OpenRouter) are shown; the rest arrive with the pricing room.
      price: this.priceOf(entry, model),
    };
  }

  async listModels(hostName?: string, refresh = false): Promise<ModelsResult> {
    if (hostName !== undefined && this.health.entry(hostName) === undefined) {
      throw new AidError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.health.hostNames().join(', ')}`, {
        what: 'host',
        id: hostName,
      });
    }
    const targets = this.health.all().filter((e) => e.adapter && (hostName === undefined || e.definition.name === hostName));
    const result: ModelsResult = { models: [], failures: [], stale: [] };
    const listed = await Promise.all(
      targets.map(async (entry) => {
        try {
          return { entry, list: await this.discover(entry, refresh) };
        } catch (error) {
          return { entry, error: (error as Error).message };
        }
      }),
    );
    for (const item of listed) {
      const name = item.entry.definition.name;
      if (!item.list) {
        result.failures.push({ host: name, error: item.error ?? 'unknown error' });
        continue;
      }
      result.models.push(...item.list.models.map((m) => this.toModelInfo(item.entry, m)));
      if (item.list.error !== undefined || item.list.ageMs >= this.freshMs) {
        result.stale.push({ host: name, ageMs: item.list.ageMs, ...(item.list.error !== undefined ? { error: item.list.error } : {}) });
      }
    }
    if (hostName !== undefined) {
      const entry = this.health.entry(hostName);
      if (entry && !entry.adapter) result.failures.push({ host: hostName, error: entry.status.error ?? 'host not usable' });
    }
    return result;
  }

  managers(hostName?: string): { host: HostDefinition; manager: ModelManager }[] {
    if (hostName !== undefined) {
      const entry = this.health.entry(hostName);
      if (!entry) {
        throw new AidError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.health.hostNames().join(', ')}`, {
          what: 'host',
          id: hostName,
        });
      }
      if (!isModelManager(entry.adapter)) {
        throw new AidError(
          ErrorCodes.InvalidParams,
          `host '${hostName}' (provider ${entry.definition.provider}) keeps no local models; pull, rm and ps manage Ollama hosts`,
          {
            issues: ['host'],
          },
        );
      }
      return [{ host: entry.definition, manager: entry.adapter }];
    }
    const managers: { host: HostDefinition; manager: ModelManager }[] = [];
    for (const entry of this.health.all()) if (isModelManager(entry.adapter)) managers.push({ host: entry.definition, manager: entry.adapter });
    return managers;
  }

  resolved(entry: HostEntry, model: DiscoveredModel): ResolvedModel {
    return {
      host: entry.definition,
      adapter: entry.adapter as ProviderAdapter,
      model: model.id,
      ref: `${entry.definition.name}/${model.id}`,
      price: this.priceOf(entry, model),
      ...(model.price ? { listed: model.price } : {}),
      ...this.windowOf(entry, model),
    };
  }

  private windowOf(entry: HostEntry, model: DiscoveredModel): { contextWindow?: number } {
    const window = model.contextWindow ?? knownContextWindow(entry.definition.provider, model.id);
    return window ? { contextWindow: window } : {};
  }

  priceOf(entry: HostEntry, model: DiscoveredModel): ModelInfo['price'] {
    const target = { provider: entry.definition.provider, host: entry.definition.name, model: model.id, ...(model.price ? { listed: model.price } : {}) };
    if (this.options.prices) return this.options.prices.listPrice(target);
    if (entry.definition.provider === 'ollama') return 'free';
    return model.price ?? 'unpriced';
  }

  /**
   * Every chat model of every callable host, resolved as routing would (from the cached lists,
   * without waiting on a host known to be down): what refusals and suggestions choose from.
   */
  async chatCandidates(signal?: AbortSignal): Promise<ResolvedModel[]> {
    const listed = await this.discoverAll(false, signal);
    return listed.flatMap((item) => chatModels(item.models ?? []).map((m) => this.resolved(item.entry, m)));
  }
  /** The chat models a refusal may point to instead, as the spend guard weighs them. */
  async alternatives(): Promise<{ ref: string; target: PriceTarget; contextWindow?: number }[]> {
    return (await this.chatCandidates()).map((m) => ({ ref: m.ref, target: priceTargetOf(m), ...(m.contextWindow ? { contextWindow: m.contextWindow } : {}) }));
  }

  async discoverAll(refresh: boolean, signal?: AbortSignal): Promise<{ entry: HostEntry; models?: DiscoveredModel[]; error?: string }[]> {
    const entries = this.health.all().filter((e) => e.adapter);
    return Promise.all(
      entries.map(async (entry) => {
        // A host the health check found down, with no list to go on, is not asked again on every
        // request (a black-holed host would cost each one the whole probe deadline); the periodic
        // check notices when it is back.
        if (entry.status.health === 'down' && entry.status.checkedAt !== undefined && !this.cache.get(entry.definition)) {
          return { entry, error: entry.status.error ?? 'host is down' };
        }
        try {
          return { entry, models: (await this.discover(entry, refresh, signal)).models };
        } catch (error) {
          return { entry, error: (error as Error).message };
        }
      }),
    );
  }
}

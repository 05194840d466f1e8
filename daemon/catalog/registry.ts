import { ErrorCodes } from '../../protocol/errors';
import { AidError } from '../errors/aid-error';
import type { HostStatus } from '../../protocol/hosts';
import type { ModelInfo, ModelsResult, Price } from '../../protocol/models';
import type { PriceBook } from '../pricing/price-book';
import type { Logger } from '../log/logger';
import type { DiscoveredModel, ModelManager, ProviderAdapter } from '../providers/types';
import { pullCommand } from '../providers/ollama';
import { ProviderError, isModelManager } from '../providers/types';
import { isConfigured, type HostDefinition } from './hosts';
import { DiscoveryCache } from './discovery';
import { closestNames } from './suggest';
import { recommendedModel } from './default-model';
import { knownContextWindow } from './windows';

export type AdapterFactory = (host: HostDefinition) => ProviderAdapter | undefined;

interface HostEntry {
  definition: HostDefinition;
  adapter: ProviderAdapter | undefined;
  status: HostStatus;
  /** Probes failed in a row; the periodic check backs off while it grows. */
  failures: number;
  /** Clock time before which the periodic check leaves this host alone. */
  nextProbeAt: number;
}

/** Deadline of a background list refresh, which nobody waits on. */
const BACKGROUND_LIST_MS = 30_000;

/** Longest wait between periodic probes of a host that stays down. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

export interface ResolvedModel {
  host: HostDefinition;
  adapter: ProviderAdapter;
  model: string;
  ref: string;
  price: ModelInfo['price'];
  /** Rates the host's own listing gave (OpenRouter), for pricing the call. */
  listed?: Price;
  /** The model's context window, when the host's listing says. */
  contextWindow?: number;
}

export interface RegistryOptions {
  createAdapter: AdapterFactory;
  /** List prices for `aic models` and cheapest-first routing; without it only Ollama and listed prices are known. */
  prices?: PriceBook;
  /** Model lists by host; in memory only when not given. */
  cache?: DiscoveryCache;
  /** A list younger than this is served without asking the host (default 60 s). */
  freshMs?: number;
  logger: Logger;
  probeTimeoutMs: number;
  now?: () => number;
}

/** What to tell a user who has no usable host at all. */
export const NO_HOST_HINT =
  'To configure a model host, use one of:\n' +
  '  - Ollama (local, free): install it, run `ollama serve`, then `aic pull llama3.2` (or set OLLAMA_HOST=host:port)\n' +
  '  - Anthropic: export ANTHROPIC_API_KEY=...\n' +
  '  - OpenAI: export OPENAI_API_KEY=...\n' +
  '  - Gemini: export GEMINI_API_KEY=...\n' +
  '  - OpenRouter: export OPENROUTER_API_KEY=...\n' +
  'then check with `aic hosts` (after exporting a key, run `aid restart` so the daemon sees it).';

/**
 * Provider → Model → Host: which hosts exist, how healthy they are, what they serve, and which
 * host a model reference goes to.
 */
export class HostRegistry {
  private entries = new Map<string, HostEntry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  private probeTimeoutMs: number;
  private readonly cache: DiscoveryCache;
  private readonly freshMs: number;
  /** One background refresh per host at a time. */
  private readonly refreshing = new Map<string, Promise<void>>();
  /** Hosts whose periodic probe is still running (a slow probe must not pile up across rounds). */
  private readonly probing = new Set<HostEntry>();
  /**
   * Bumped when a host's list is invalidated or fetched on demand: a fetch that started before
   * does not write its older answer over the newer state.
   */
  private readonly generations = new Map<string, number>();

  constructor(private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now;
    this.probeTimeoutMs = options.probeTimeoutMs;
    this.cache = options.cache ?? new DiscoveryCache();
    this.freshMs = options.freshMs ?? 60_000;
  }

  /** Applies a reloaded config's probe deadline to the next probes and listings. */
  setProbeTimeout(ms: number): void {
    this.probeTimeoutMs = ms;
  }

  /** Replaces the host set (start-up and config reload), keeping known health of unchanged hosts. */
  setHosts(definitions: HostDefinition[]): void {
    const next = new Map<string, HostEntry>();
    for (const definition of definitions) {
      const previous = this.entries.get(definition.name);
      const unchanged =
        previous &&
        previous.definition.baseUrl === definition.baseUrl &&
        previous.definition.apiKey === definition.apiKey &&
        previous.definition.basicAuth === definition.basicAuth &&
        previous.definition.provider === definition.provider;
      const adapter = isConfigured(definition) ? this.options.createAdapter(definition) : undefined;
      next.set(definition.name, {
        definition,
        adapter,
        status: unchanged && previous ? previous.status : this.initialStatus(definition, adapter),
        failures: unchanged && previous ? previous.failures : 0,
        nextProbeAt: unchanged && previous ? previous.nextProbeAt : 0,
      });
    }
    this.entries = next;
  }

  private initialStatus(definition: HostDefinition, adapter: ProviderAdapter | undefined): HostStatus {
    const base = { name: definition.name, provider: definition.provider, baseUrl: definition.baseUrl };
    if (definition.urlError !== undefined) return { ...base, health: 'unconfigured', error: definition.urlError };
    if (!isConfigured(definition)) {
      return { ...base, health: 'unconfigured', error: `set ${definition.keyEnv?.join(' or ') ?? 'its API key'}` };
    }
    if (!adapter) {
      return { ...base, health: 'down', error: `${definition.provider} is not supported by this build of aid yet` };
    }
    // Until the first probe finishes we do not know; "down" with no check time says so honestly.
    return { ...base, health: 'down', error: 'not checked yet' };
  }

  statuses(): HostStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status }));
  }

  hostNames(): string[] {
    return [...this.entries.keys()];
  }

  /** Probes every callable host concurrently, each within the probe deadline. */
  async probeAll(): Promise<HostStatus[]> {
    await Promise.all([...this.entries.values()].map((entry) => this.probe(entry)));
    return this.statuses();
  }

  private async probe(entry: HostEntry): Promise<void> {
    const adapter = entry.adapter;
    if (!adapter) return;
    const started = this.now();
    const signal = AbortSignal.timeout(this.probeTimeoutMs);
    const base = { name: entry.definition.name, provider: entry.definition.provider, baseUrl: entry.definition.baseUrl };
    try {
      const report = await adapter.health(signal);
      entry.status = { ...base, health: 'up', latencyMs: this.now() - started, checkedAt: this.now(), ...(report.version ? { version: report.version } : {}) };
      entry.failures = 0;
    } catch (error) {
      const message = signal.aborted ? `no answer within ${this.probeTimeoutMs} ms from ${entry.definition.baseUrl}` : (error as Error).message;
      if (entry.status.health === 'up') this.options.logger.warn('host went down', { host: entry.definition.name, error: message });
      entry.status = { ...base, health: 'down', checkedAt: this.now(), error: message };
      entry.failures++;
    }
  }

  /**
   * One periodic round: probes the hosts that are due. A host that keeps failing is probed at
   * doubling intervals up to MAX_BACKOFF_MS, so a dead box costs little; a success resets it.
   * The next probe is counted from the start of this round, so a host is probed every interval
   * (not every other tick); a host still being probed from an earlier round is left alone.
   * `aic hosts` (probeAll) still probes everything at once.
   */
  async probeDue(intervalMs: number): Promise<void> {
    const now = this.now();
    const due = [...this.entries.values()].filter((e) => e.adapter && e.nextProbeAt <= now && !this.probing.has(e));
    for (const entry of due) this.probing.add(entry);
    try {
      await Promise.all(due.map((entry) => this.probe(entry)));
    } finally {
      for (const entry of due) this.probing.delete(entry);
    }
    for (const entry of due) {
      // Keep lists of live hosts fresh, so an `aic models` seldom even serves an old one.
      const cached = this.cache.get(entry.definition);
      if (entry.failures === 0 && (!cached || now - cached.fetchedAt >= this.freshMs)) this.refreshInBackground(entry);
      const wait = entry.failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** entry.failures, Math.max(intervalMs, MAX_BACKOFF_MS));
      entry.nextProbeAt = now + wait;
    }
  }

  /** Periodic health checks; the first runs at once. */
  startHealthChecks(intervalMs: number): void {
    this.stopHealthChecks();
    const tick = (): void => {
      this.probeDue(intervalMs).catch((error: unknown) => this.options.logger.error('health check failed', { error }));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stopHealthChecks(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
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
    const deadlineMs = waiting ? this.probeTimeoutMs : Math.max(this.probeTimeoutMs, BACKGROUND_LIST_MS);
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
  private async discover(entry: HostEntry, refresh = false, signal?: AbortSignal): Promise<{ models: DiscoveredModel[]; ageMs: number; error?: string }> {
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

  /** Forgets a host's list (after a pull or rm changed it); a fetch already running is not kept. */
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
    if (hostName !== undefined && !this.entries.has(hostName)) {
      throw new AidError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.hostNames().join(', ')}`, {
        what: 'host',
        id: hostName,
      });
    }
    const targets = [...this.entries.values()].filter((e) => e.adapter && (hostName === undefined || e.definition.name === hostName));
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
      const entry = this.entries.get(hostName);
      if (entry && !entry.adapter) result.failures.push({ host: hostName, error: entry.status.error ?? 'host not usable' });
    }
    return result;
  }

  /** Hosts that manage local models (Ollama), or the named one; explains why a name does not fit. */
  managers(hostName?: string): { host: HostDefinition; manager: ModelManager }[] {
    if (hostName !== undefined) {
      const entry = this.entries.get(hostName);
      if (!entry) {
        throw new AidError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.hostNames().join(', ')}`, { what: 'host', id: hostName });
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
    for (const entry of this.entries.values()) if (isModelManager(entry.adapter)) managers.push({ host: entry.definition, manager: entry.adapter });
    return managers;
  }

  /**
   * Turns `HOST/MODEL`, a bare `MODEL` or nothing into one host and model: the first of route().
   */
  async resolve(ref: string | undefined, defaultModel: string | undefined): Promise<ResolvedModel> {
    return (await this.route(ref, defaultModel))[0];
  }

  /**
   * Every host a request may go to, in the order to try them (never empty). `HOST/MODEL` is that
   * host only: the user chose it. A bare `MODEL` is every host serving it, healthy first, then
   * cheapest (free, then by listed price, then unpriced). Only the first `/` splits, and only when
   * what precedes it names a host: OpenRouter ids contain slashes.
   */
  async route(ref: string | undefined, defaultModel: string | undefined, signal?: AbortSignal): Promise<ResolvedModel[]> {
    const wanted = ref?.trim() || defaultModel?.trim();
    if (!wanted) return this.routeDefault(signal);
    const slash = wanted.indexOf('/');
    const hostName = slash > 0 ? wanted.slice(0, slash) : undefined;
    if (hostName !== undefined && this.entries.has(hostName)) {
      return [await this.resolveOnHost(this.entries.get(hostName) as HostEntry, wanted.slice(slash + 1), signal)];
    }
    return this.routeBare(wanted, signal);
  }

  /** The key variables of hosts that have none: what a client may find set in its own shell. */
  private missingKeys(): string[] {
    return [...new Set([...this.entries.values()].filter((e) => e.definition.keyEnv && !e.definition.apiKey).flatMap((e) => e.definition.keyEnv ?? []))];
  }

  private usable(entry: HostEntry): void {
    if (!entry.adapter) {
      throw new AidError(ErrorCodes.NoUsableHost, `host '${entry.definition.name}' is not usable: ${entry.status.error ?? 'not configured'}`, {
        host: entry.definition.name,
        ...(entry.definition.keyEnv && !entry.definition.apiKey ? { keyEnv: entry.definition.keyEnv } : {}),
      });
    }
  }

  private async listOrExplain(entry: HostEntry, refresh: boolean, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    try {
      return (await this.discover(entry, refresh, signal)).models;
    } catch (error) {
      throw new AidError(ErrorCodes.NoUsableHost, (error as Error).message, { host: entry.definition.name });
    }
  }

  private async resolveOnHost(entry: HostEntry, model: string, signal?: AbortSignal): Promise<ResolvedModel> {
    this.usable(entry);
    let models = await this.listOrExplain(entry, false, signal);
    // Not in the known list: it may have been pulled since; ask the host once before refusing.
    if (!findModel(models, model)) models = await this.listOrExplain(entry, true, signal);
    const match = findModel(models, model);
    if (match?.kind === 'embedding')
      throw embeddingModel(
        `${entry.definition.name}/${match.id}`,
        closestNames(
          model,
          chatModels(models).map((m) => m.id),
        ),
      );
    if (!match) {
      const suggestions = closestNames(
        model,
        chatModels(models).map((m) => m.id),
      );
      const hint = entry.definition.provider === 'ollama' ? ` — run \`${pullCommand(model, entry.definition.name)}\`` : '';
      throw new AidError(
        ErrorCodes.UnknownModel,
        `model '${model}' is not available on host ${entry.definition.name}${hint}${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''}`,
        { ref: `${entry.definition.name}/${model}`, suggestions },
      );
    }
    return this.resolved(entry, match);
  }

  private resolved(entry: HostEntry, model: DiscoveredModel): ResolvedModel {
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

  /** The host's own figure, else the maintained table's. */
  private windowOf(entry: HostEntry, model: DiscoveredModel): { contextWindow?: number } {
    const window = model.contextWindow ?? knownContextWindow(entry.definition.provider, model.id);
    return window ? { contextWindow: window } : {};
  }

  private priceOf(entry: HostEntry, model: DiscoveredModel): ModelInfo['price'] {
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

  /** Hosts with an adapter, in config order; each one's list (or why there is none), fetched in parallel. */
  private async discoverAll(refresh: boolean, signal?: AbortSignal): Promise<{ entry: HostEntry; models?: DiscoveredModel[]; error?: string }[]> {
    const entries = [...this.entries.values()].filter((e) => e.adapter);
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

  private async routeBare(model: string, signal?: AbortSignal): Promise<ResolvedModel[]> {
    let listed = await this.discoverAll(false, signal);
    if (listed.length === 0)
      throw new AidError(ErrorCodes.NoUsableHost, `no model host is usable\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT, keyEnv: this.missingKeys() });
    const matches = (): { entry: HostEntry; model: DiscoveredModel; order: number }[] => {
      const found: { entry: HostEntry; model: DiscoveredModel; order: number }[] = [];
      listed.forEach((item, order) => {
        const match = item.models && findModel(chatModels(item.models), model);
        if (match) found.push({ entry: item.entry, model: match, order });
      });
      return found;
    };
    let found = matches();
    // In no known list: it may have been pulled since (outside aid); ask the hosts once more.
    if (found.length === 0) {
      listed = await this.discoverAll(true, signal);
      found = matches();
    }
    if (found.length > 0) {
      const rank = (f: (typeof found)[number]): [number, number, number] => [
        f.entry.status.health === 'up' ? 0 : 1,
        costRank(this.priceOf(f.entry, f.model)),
        f.order,
      ];
      found.sort((a, b) => compareTuples(rank(a), rank(b)));
      return found.map((f) => this.resolved(f.entry, f.model));
    }
    const embedding = listed.find((l) => l.models && findModel(l.models, model));
    const seen = listed.flatMap((l) => chatModels(l.models ?? []).map((m) => `${l.entry.definition.name}/${m.id}`));
    if (embedding)
      throw embeddingModel(`${embedding.entry.definition.name}/${(findModel(embedding.models ?? [], model) as DiscoveredModel).id}`, seen.slice(0, 3));
    const errors = listed.filter((l) => l.error !== undefined).map((l) => l.error as string);
    if (seen.length === 0 && errors.length > 0) {
      throw new AidError(ErrorCodes.NoUsableHost, `no host could serve '${model}':\n  ${errors.join('\n  ')}`, {
        hint: NO_HOST_HINT,
        keyEnv: this.missingKeys(),
      });
    }
    // Compare against the model ids, then show them as refs: the host prefix is not a typo.
    const refsById = new Map(seen.map((ref) => [ref.slice(ref.indexOf('/') + 1), ref]));
    const suggestions = closestNames(model, [...refsById.keys()]).map((id) => refsById.get(id) ?? id);
    throw new AidError(
      ErrorCodes.UnknownModel,
      `no host serves a model named '${model}'${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''} (see \`aic models\`)`,
      { ref: model, suggestions },
    );
  }

  /**
   * No model asked for (and none configured): the recommended model of the first healthy host,
   * local (free) hosts before paid ones, then other hosts serving it.
   */
  private async routeDefault(signal?: AbortSignal): Promise<ResolvedModel[]> {
    const listed = await this.discoverAll(false, signal);
    // Hosts known to be up first, local ones first among them; unknown/down ones are still tried (the probe may be stale).
    const rank = (item: (typeof listed)[number]): [number, number] => [
      item.entry.status.health === 'up' ? 0 : 1,
      item.entry.definition.provider === 'ollama' ? 0 : 1,
    ];
    const ordered = [...listed].sort((a, b) => compareTuples(rank(a), rank(b)));
    const errors: string[] = [];
    for (const item of ordered) {
      const first = item.models && recommendedModel(item.entry.definition.provider, chatModels(item.models));
      if (first) {
        const others = ordered.filter((o) => o !== item && o.models && findModel(chatModels(o.models), first.id));
        return [this.resolved(item.entry, first), ...others.map((o) => this.resolved(o.entry, findModel(o.models ?? [], first.id) as DiscoveredModel))];
      }
      if (item.error !== undefined) errors.push(item.error);
      else
        errors.push(
          `host ${item.entry.definition.name} has no models` +
            `${item.entry.definition.provider === 'ollama' ? ` — run \`${pullCommand('llama3.2', item.entry.definition.name)}\`` : ''}`,
        );
    }
    const detail = errors.length ? `:\n${errors.map((e) => `  - ${e}`).join('\n')}` : '';
    throw new AidError(ErrorCodes.NoUsableHost, `no model host is usable${detail}\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT, keyEnv: this.missingKeys() });
  }
}

/** Models that answer questions: what routing, suggestions and pickers offer. */
export function chatModels<M extends { kind?: string }>(models: M[]): M[] {
  return models.filter((m) => m.kind !== 'embedding');
}

function embeddingModel(ref: string, suggestions: string[]): AidError<typeof ErrorCodes.UnknownModel> {
  return new AidError(
    ErrorCodes.UnknownModel,
    `${ref} is an embedding model: it turns text into vectors and cannot answer questions; pick a ` +
      `chat model${suggestions.length ? ` such as ${suggestions.join(', ')}` : ''} (see \`aic models\`)`,
    { ref, suggestions },
  );
}

/** Free first, then by the listed price of a typical call (input and output), unpriced last. */
function costRank(price: ModelInfo['price']): number {
  if (price === 'free') return 0;
  if (price === 'unpriced') return Number.POSITIVE_INFINITY;
  return price.inputPerMTok + price.outputPerMTok;
}

function compareTuples(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return 0;
}

/** Exact id, else `name` matching `name:latest` (Ollama's default tag), case-insensitive. */
export function findModel(models: DiscoveredModel[], wanted: string): DiscoveredModel | undefined {
  const w = wanted.toLowerCase();
  return models.find((m) => m.id.toLowerCase() === w) ?? (w.includes(':') ? undefined : models.find((m) => m.id.toLowerCase() === `${w}:latest`));
}

import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../../protocol/errors';
import type { HostStatus } from '../../protocol/hosts';
import type { ModelInfo, ModelsResult } from '../../protocol/models';
import type { Logger } from '../log/logger';
import type { DiscoveredModel, ModelManager, ProviderAdapter } from '../providers/types';
import { pullCommand } from '../providers/ollama';
import { ProviderError, isModelManager } from '../providers/types';
import { isConfigured, type HostDefinition } from './hosts';
import { DiscoveryCache } from './discovery';
import { closestNames } from './suggest';

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

/** Longest wait between periodic probes of a host that stays down. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

export interface ResolvedModel {
  host: HostDefinition;
  adapter: ProviderAdapter;
  model: string;
  ref: string;
}

export interface RegistryOptions {
  createAdapter: AdapterFactory;
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
  'then check with `aic hosts`. (This build streams through Ollama; the cloud providers are listed but not yet callable.)';

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
      const message = signal.aborted
        ? `no answer within ${this.probeTimeoutMs} ms from ${entry.definition.baseUrl}`
        : (error as Error).message;
      if (entry.status.health === 'up') this.options.logger.warn('host went down', { host: entry.definition.name, error: message });
      entry.status = { ...base, health: 'down', checkedAt: this.now(), error: message };
      entry.failures++;
    }
  }

  /** Periodic health checks; the first runs at once. */
  /**
   * One periodic round: probes the hosts that are due. A host that keeps failing is probed at
   * doubling intervals up to MAX_BACKOFF_MS, so a dead box costs little; a success resets it.
   * `aic hosts` (probeAll) still probes everything at once.
   */
  async probeDue(intervalMs: number): Promise<void> {
    const now = this.now();
    const due = [...this.entries.values()].filter((e) => e.adapter && e.nextProbeAt <= now);
    await Promise.all(due.map((entry) => this.probe(entry)));
    for (const entry of due) {
      // Keep lists of live hosts fresh, so an `aic models` seldom even serves an old one.
      const cached = this.cache.get(entry.definition);
      if (entry.failures === 0 && (!cached || now - cached.fetchedAt >= this.freshMs)) this.refreshInBackground(entry);
      const wait = entry.failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** entry.failures, Math.max(intervalMs, MAX_BACKOFF_MS));
      entry.nextProbeAt = this.now() + wait;
    }
  }

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

  /** Asks the host for its models now, within the probe deadline, and caches the answer. */
  private async fetchList(entry: HostEntry): Promise<DiscoveredModel[]> {
    if (!entry.adapter) throw new ProviderError('unreachable', entry.status.error ?? 'host not usable');
    const signal = AbortSignal.timeout(this.probeTimeoutMs);
    let models: DiscoveredModel[];
    try {
      models = await entry.adapter.listModels(signal);
    } catch (error) {
      if (signal.aborted) throw new ProviderError('timeout', `no answer within ${this.probeTimeoutMs} ms from ${entry.definition.baseUrl}`);
      throw error;
    }
    await this.cache.put(entry.definition, models, this.now());
    return models;
  }

  private refreshInBackground(entry: HostEntry): void {
    const name = entry.definition.name;
    if (this.refreshing.has(name)) return;
    const job = this.fetchList(entry)
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
  private async discover(entry: HostEntry, refresh = false): Promise<{ models: DiscoveredModel[]; ageMs: number; error?: string }> {
    const cached = this.cache.get(entry.definition);
    if (cached && !refresh) {
      const ageMs = this.now() - cached.fetchedAt;
      if (ageMs >= this.freshMs) this.refreshInBackground(entry);
      return { models: cached.models, ageMs };
    }
    try {
      return { models: await this.fetchList(entry), ageMs: 0 };
    } catch (error) {
      if (!cached) throw error;
      return { models: cached.models, ageMs: this.now() - cached.fetchedAt, error: (error as Error).message };
    }
  }

  /** Forgets a host's list (after a pull or rm changed it). */
  async invalidateModels(hostName: string): Promise<void> {
    await this.cache.invalidate(hostName);
  }

  private toModelInfo(entry: HostEntry, model: DiscoveredModel): ModelInfo {
    return {
      ref: `${entry.definition.name}/${model.id}`,
      host: entry.definition.name,
      provider: entry.definition.provider,
      model: model.id,
      ...(model.contextWindow ? { contextWindow: model.contextWindow } : {}),
      // Local models cost nothing; cloud prices arrive with the pricing room.
      price: entry.definition.provider === 'ollama' ? 'free' : 'unpriced',
    };
  }

  async listModels(hostName?: string, refresh = false): Promise<ModelsResult> {
    if (hostName !== undefined && !this.entries.has(hostName)) {
      throw new ResponseError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.hostNames().join(', ')}`, {
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
        throw new ResponseError(ErrorCodes.NotFound, `no host named '${hostName}'; known hosts: ${this.hostNames().join(', ')}`, { what: 'host', id: hostName });
      }
      if (!isModelManager(entry.adapter)) {
        throw new ResponseError(ErrorCodes.InvalidParams, `host '${hostName}' (provider ${entry.definition.provider}) keeps no local models; pull, rm and ps manage Ollama hosts`, {
          issues: ['host'],
        });
      }
      return [{ host: entry.definition, manager: entry.adapter }];
    }
    const managers: { host: HostDefinition; manager: ModelManager }[] = [];
    for (const entry of this.entries.values()) if (isModelManager(entry.adapter)) managers.push({ host: entry.definition, manager: entry.adapter });
    return managers;
  }

  /**
   * Turns `HOST/MODEL`, a bare `MODEL` or nothing into one host and model. Only the first `/`
   * splits, and only when what precedes it names a host: OpenRouter ids contain slashes.
   */
  async resolve(ref: string | undefined, defaultModel: string | undefined): Promise<ResolvedModel> {
    const wanted = ref?.trim() || defaultModel?.trim();
    if (!wanted) return this.resolveDefault();
    const slash = wanted.indexOf('/');
    const hostName = slash > 0 ? wanted.slice(0, slash) : undefined;
    if (hostName !== undefined && this.entries.has(hostName)) {
      return this.resolveOnHost(this.entries.get(hostName) as HostEntry, wanted.slice(slash + 1));
    }
    return this.resolveBare(wanted);
  }

  private usable(entry: HostEntry): ProviderAdapter {
    if (!entry.adapter) {
      throw new ResponseError(ErrorCodes.NoUsableHost, `host '${entry.definition.name}' is not usable: ${entry.status.error ?? 'not configured'}`, {
        host: entry.definition.name,
      });
    }
    return entry.adapter;
  }

  private async listOrExplain(entry: HostEntry, refresh = false): Promise<DiscoveredModel[]> {
    try {
      return (await this.discover(entry, refresh)).models;
    } catch (error) {
      throw new ResponseError(ErrorCodes.NoUsableHost, (error as Error).message, { host: entry.definition.name });
    }
  }

  private async resolveOnHost(entry: HostEntry, model: string): Promise<ResolvedModel> {
    const adapter = this.usable(entry);
    let models = await this.listOrExplain(entry);
    // Not in the known list: it may have been pulled since; ask the host once before refusing.
    if (!findModel(models, model)) models = await this.listOrExplain(entry, true);
    const match = findModel(models, model);
    if (!match) {
      const suggestions = closestNames(model, models.map((m) => m.id));
      const hint = entry.definition.provider === 'ollama' ? ` — run \`${pullCommand(model, entry.definition.name)}\`` : '';
      throw new ResponseError(
        ErrorCodes.UnknownModel,
        `model '${model}' is not available on host ${entry.definition.name}${hint}${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''}`,
        { ref: `${entry.definition.name}/${model}`, suggestions },
      );
    }
    return { host: entry.definition, adapter, model: match.id, ref: `${entry.definition.name}/${match.id}` };
  }

  private callable(): HostEntry[] {
    // Hosts known to be up first; unknown/down ones are still tried (the probe may be stale).
    const entries = [...this.entries.values()].filter((e) => e.adapter);
    return entries.sort((a, b) => Number(b.status.health === 'up') - Number(a.status.health === 'up'));
  }

  private async resolveBare(model: string): Promise<ResolvedModel> {
    const candidates = this.callable();
    if (candidates.length === 0) throw new ResponseError(ErrorCodes.NoUsableHost, `no model host is usable\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT });
    const errors: string[] = [];
    const seen: string[] = [];
    for (const entry of candidates) {
      let models: DiscoveredModel[];
      try {
        models = (await this.discover(entry)).models;
      } catch (error) {
        errors.push((error as Error).message);
        continue;
      }
      const match = findModel(models, model);
      if (match) return { host: entry.definition, adapter: entry.adapter as ProviderAdapter, model: match.id, ref: `${entry.definition.name}/${match.id}` };
      seen.push(...models.map((m) => `${entry.definition.name}/${m.id}`));
    }
    if (seen.length === 0 && errors.length > 0) {
      throw new ResponseError(ErrorCodes.NoUsableHost, `no host could serve '${model}':\n  ${errors.join('\n  ')}`, { hint: NO_HOST_HINT });
    }
    // Compare against the model ids, then show them as refs: the host prefix is not a typo.
    const refsById = new Map(seen.map((ref) => [ref.slice(ref.indexOf('/') + 1), ref]));
    const suggestions = closestNames(model, [...refsById.keys()]).map((id) => refsById.get(id) ?? id);
    throw new ResponseError(
      ErrorCodes.UnknownModel,
      `no host serves a model named '${model}'${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''} (see \`aic models\`)`,
      { ref: model, suggestions },
    );
  }

  private async resolveDefault(): Promise<ResolvedModel> {
    const errors: string[] = [];
    for (const entry of this.callable()) {
      try {
        const { models } = await this.discover(entry);
        const first = models[0];
        if (first) return { host: entry.definition, adapter: entry.adapter as ProviderAdapter, model: first.id, ref: `${entry.definition.name}/${first.id}` };
        errors.push(`host ${entry.definition.name} has no models${entry.definition.provider === 'ollama' ? ` — run \`${pullCommand('llama3.2', entry.definition.name)}\`` : ''}`);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    const detail = errors.length ? `:\n${errors.map((e) => `  - ${e}`).join('\n')}` : '';
    throw new ResponseError(ErrorCodes.NoUsableHost, `no model host is usable${detail}\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT });
  }
}

/** Exact id, else `name` matching `name:latest` (Ollama's default tag), case-insensitive. */
export function findModel(models: DiscoveredModel[], wanted: string): DiscoveredModel | undefined {
  const w = wanted.toLowerCase();
  return (
    models.find((m) => m.id.toLowerCase() === w) ??
    (w.includes(':') ? undefined : models.find((m) => m.id.toLowerCase() === `${w}:latest`))
  );
}

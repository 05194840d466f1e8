import type { HostStatus } from '../../protocol/hosts';
import type { Logger } from '../log/logger';
import type { ProviderAdapter } from '../providers/types';
import { isConfigured, type HostDefinition } from './hosts';

export type AdapterFactory = (host: HostDefinition) => ProviderAdapter | undefined;

/** One host as the daemon knows it now: its definition, its adapter (none when unusable) and its health. */
export interface HostEntry {
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

export interface HostHealthOptions {
  createAdapter: AdapterFactory;
  logger: Logger;
  probeTimeoutMs: number;
  now?: () => number;
}

/**
 * Which hosts exist and how healthy they are: the host set (built-ins and config hosts, replaced on
 * reload), a free probe of each, periodic checks with doubling backoff for hosts that stay down.
 */
export class HostHealth {
  private entries = new Map<string, HostEntry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private probeTimeoutMs: number;
  /** Hosts whose periodic probe is still running (a slow probe must not pile up across rounds). */
  private readonly probing = new Set<HostEntry>();
  /** Told after each periodic probe that found a host up (the catalog keeps its list fresh then). */
  private onUp: ((entry: HostEntry) => void) | undefined;

  constructor(private readonly options: HostHealthOptions) {
    this.now = options.now ?? Date.now;
    this.probeTimeoutMs = options.probeTimeoutMs;
  }

  /** The deadline of a probe or a listing, as configured now. */
  get timeoutMs(): number {
    return this.probeTimeoutMs;
  }

  /** Called after each periodic probe that found a host up. */
  whenUp(listener: (entry: HostEntry) => void): void {
    this.onUp = listener;
  }

  /** A host by name, if there is one. */
  entry(name: string): HostEntry | undefined {
    return this.entries.get(name);
  }

  /** Every host, in config order. */
  all(): HostEntry[] {
    return [...this.entries.values()];
  }

  setProbeTimeout(ms: number): void {
    this.probeTimeoutMs = ms;
  }

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
      if (entry.failures === 0) this.onUp?.(entry);
      const wait = entry.failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** entry.failures, Math.max(intervalMs, MAX_BACKOFF_MS));
      entry.nextProbeAt = now + wait;
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

  missingKeys(): string[] {
    return [...new Set([...this.entries.values()].filter((e) => e.definition.keyEnv && !e.definition.apiKey).flatMap((e) => e.definition.keyEnv ?? []))];
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogNotification, type StatusResult, type StoreIncident } from '../protocol/daemon';
import { PROTOCOL_VERSION } from '../protocol/version';
import { AskService } from './chat/ask';
import { HostAttempts } from './chat/host-attempts';
import { describeDefaultModel } from './chat/default-model';
import { SpendGuard } from './budget/spend-guard';
import { CallCost } from './pricing/call-cost';
import { abortableSleep } from './timers/sleep';
import { ProviderError } from './providers/types';
import { defineHosts } from './catalog/hosts';
import { HostRegistry } from './catalog/registry';
import { DiscoveryCache, type CachedList } from './catalog/discovery';
import { describeConfigError, loadConfig } from './config/load';
import { describeConfig } from './config/describe';
import { BUILT_IN_ENV } from './catalog/hosts';
import type { AidPaths } from './config/paths';
import type { AidConfig } from './config/schema';
import { watchConfigFile } from './config/watch';
import { catalogHandlers } from './handlers/catalog';
import { chatHandlers } from './handlers/chat';
import { daemonHandlers } from './handlers/daemon';
import { ollamaHandlers } from './handlers/ollama';
import { Calendar } from './ledger/calendar';
import { INTERRUPTED, Ledger } from './ledger/ledger';
import { CostReporter } from './ledger/report';
import { costHandlers } from './handlers/cost';
import { budgetHandlers } from './handlers/budget';
import { recommendHandlers } from './handlers/recommend';
import { sessionHandlers } from './handlers/sessions';
import { Sessions } from './sessions/sessions';
import { ContextEngine } from './context/engine';
import { ContextAttacher, type ContextSettings } from './chat/context-attach';
import { contextHandlers } from './handlers/context';
import { Recommender, classifyTask } from './advice/recommend';
import { Budgets } from './budget/budgets';
import { BudgetAlerts, DesktopSink, WebhookSink } from './budget/alerts';
import cron, { type ScheduledTask } from 'node-cron';
import { AlertNotification } from '../protocol/budget';
import { FileLogger } from './log/logger';
import { Redactor } from './log/redact';
import { AnthropicAdapter } from './providers/anthropic';
import { GeminiAdapter } from './providers/gemini';
import { OllamaAdapter } from './providers/ollama';
import { PriceBook } from './pricing/price-book';
import { DEFAULT_PRICES_URL, PriceData } from './pricing/price-data';
import { OpenAICompatibleAdapter } from './providers/openai-compatible';
import type { ProviderAdapter } from './providers/types';
import { HandlerRegistry } from './server/handlers';
import type { PidLock } from './server/lock';
import { removeRegistration, writeRegistration } from './server/registration';
import { DaemonServer } from './server/server';
import { Shutdown } from './server/shutdown';
import { isOurSocket, removeOurSocket, removeStaleSocket, systemdListenFd, type BoundSocket } from './server/socket';
import { Store } from './store/store';
import type { HostDefinition } from './catalog/hosts';

export interface DaemonOptions {
  paths: AidPaths;
  env: Record<string, string | undefined>;
  version: string;
  /** Mirror log lines to stderr (foreground runs). */
  logToStderr: boolean;
  /**
   * The socket's lock, taken by the caller before this module loaded: a start that loses the race
   * stops without loading the daemon. Released in the last steps of the shutdown.
   */
  lock: PidLock;
}

export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** How often the daemon checks that its socket, lock and store file are still where it left them. */
const FOOTING_CHECK_MS = 2000;

/** Largest JSON-RPC message accepted from a client; prompts with attached context fit easily. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** One adapter per configured host, through its provider's official SDK (Gemini: its REST API). */
function createAdapter(config: () => AidConfig): (host: HostDefinition) => ProviderAdapter | undefined {
  return (host) => {
    if (host.provider === 'ollama') {
      const { keepAlive, numCtx } = config().ollama;
      return new OllamaAdapter({
        baseUrl: host.baseUrl,
        hostName: host.name,
        ...(host.basicAuth ? { basicAuth: host.basicAuth } : {}),
        ...(keepAlive !== undefined ? { keepAlive } : {}),
        ...(numCtx !== undefined ? { numCtx } : {}),
      });
    }
    if (!host.apiKey) return undefined;
    const options = {
      hostName: host.name,
      baseUrl: host.baseUrl,
      apiKey: host.apiKey,
      connectTimeoutMs: config().connectTimeoutMs,
      ...(host.keyEnv ? { keyEnv: host.keyEnv } : {}),
    };
    switch (host.provider) {
      case 'anthropic':
        return new AnthropicAdapter(options);
      case 'openai':
      case 'openrouter':
        return new OpenAICompatibleAdapter(host.provider, options);
      case 'gemini':
        return new GeminiAdapter(options);
    }
  };
}

/**
 * The composition root: builds every service, wires handlers, binds the socket, and returns once
 * the daemon is serving. Resolves `done` after the shutdown completed.
 */
export async function runDaemon(options: DaemonOptions): Promise<{ done: Promise<number>; shutdown: (reason: string) => Promise<void> }> {
  const { paths, env, version } = options;
  // Everything the daemon creates is its user's alone (sessions, logs, the store); explicit modes
  // below say so too, this covers what a library creates on its own (lmdb's write-back copy).
  process.umask(0o077);
  const started = Date.now();
  const redactor = new Redactor();
  const firstLoad = loadConfig(paths.configFile);
  if (!firstLoad.ok) {
    options.lock.release();
    throw new StartupError(describeConfigError(firstLoad.file, firstLoad.issues, 'aid start'));
  }
  let config = firstLoad.config;
  /** The file's own values of the config in use (the last good one): what `aic config` marks as from the file. */
  let configRaw = firstLoad.raw;
  let configState: StatusResult['config'] = { file: paths.configFile, loaded: firstLoad.exists };

  const logger = new FileLogger({ file: paths.logFile, level: config.logLevel, redactor, stderr: options.logToStderr });
  const uid = process.getuid?.() ?? 0;
  const listenFd = systemdListenFd(env, process.pid);

  const lock = options.lock;
  const shutdown = new Shutdown(logger);
  /** 0 for a stop that was asked for; 1 when the daemon stops because it lost its socket or lock. */
  let exitCode = 0;
  const storeIncident = (incident: StoreIncident): void => {
    logger[incident.recovered ? 'warn' : 'error']('store file lost while running', {
      path: paths.dataDir,
      recovered: incident.recovered,
      message: incident.message,
    });
    // Editors and running aic commands learn of it now, not at the next `aic status`.
    server.broadcast(LogNotification, { level: incident.recovered ? 'warn' : 'error', message: incident.message });
  };
  let store: Store;
  try {
    if (listenFd === undefined && (await removeStaleSocket(paths.socket))) logger.info('removed a stale socket', { socket: paths.socket });
    store = await Store.open(paths.dataDir, [], undefined, {
      uid,
      onTightened: (file, previousMode) => logger.warn("other users could read aid's data: tightened to owner-only", { file, mode: previousMode.toString(8) }),
      onIncident: storeIncident,
    });
  } catch (error) {
    lock.release();
    throw new StartupError((error as Error).message);
  }
  // Days are fixed at start: a zone changed by a reload applies from the next start.
  const calendar = new Calendar(config.timeZone ?? Calendar.systemZone());
  const ledger = new Ledger(store, Date.now, calendar);
  const costs = new CostReporter(ledger, calendar);
  const budgets = new Budgets(store, ledger, calendar);
  const alerts = new BudgetAlerts({
    store,
    budgets,
    reporter: costs,
    logger,
    sinks: () => [
      { name: 'clients', send: (alert) => Promise.resolve(server.broadcast(AlertNotification, alert)) },
      ...(config.alerts.desktop ? [new DesktopSink()] : []),
      ...(config.alerts.webhookUrl ? [new WebhookSink(config.alerts.webhookUrl)] : []),
    ],
  });
  /** Scheduled at the end of start-up; declared here so a failed start can still stop them. */
  const cronJobs: ScheduledTask[] = [];
  // One check at a time; a request finishing during a check queues one more.
  let checking: Promise<unknown> = Promise.resolve();
  const checkAlerts = (): void => {
    checking = checking.then(() => alerts.check()).catch((error: unknown) => logger.error('budget alert check failed', { error }));
  };

  const hostsFrom = (c: AidConfig): HostDefinition[] => {
    const hosts = defineHosts(env, c);
    for (const h of hosts) for (const secret of [h.apiKey, h.basicAuth, ...(h.urlSecrets ?? [])]) redactor.add(secret);
    return hosts;
  };
  const discoveryCache = new DiscoveryCache(store.db<CachedList>('discovery'), (error) => logger.warn('could not persist a model list', { error }));
  const priceData = new PriceData(path.join(paths.dataDir, 'prices.json'), priceDatasetVersion());
  const savedPrices = priceData.loadSaved();
  if (savedPrices.error) logger.warn('ignoring the saved price data; the bundled prices stay', { error: savedPrices.error });
  const prices = new PriceBook({ overrides: () => config.prices, datasetVersion: () => priceData.version });
  const { health, catalog, router } = new HostRegistry({
    createAdapter: createAdapter(() => config),
    cache: discoveryCache,
    prices,
    logger,
    probeTimeoutMs: config.probeTimeoutMs,
  });
  health.setHosts(hostsFrom(config));
  const sessions = new Sessions(store);
  const contextEngine = new ContextEngine({
    store,
    log: (level, message) => logger[level](message),
    idleUnwatchMs: config.context.idleUnwatchMin * 60_000,
  });
  const contextSettings = (): ContextSettings => config.context;
  const callCost = new CallCost(prices);
  // Calls a crash left in flight are charged now, before any new request: budgets count them.
  await settleInterruptedCalls(ledger, sessions, callCost, logger);
  const guard = new SpendGuard({
    budgets,
    cost: callCost,
    alternatives: () => catalog.alternatives(),
    onError: (message, error) => logger.debug(message, { error }),
  });
  const attempts = new HostAttempts({
    router,
    catalog,
    ledger,
    logger,
    cost: callCost,
    guard,
    limits: () => ({ idleTimeoutMs: config.idleTimeoutMs, firstTokenTimeoutMs: config.firstTokenTimeoutMs, maxRetryWaitMs: config.maxRetryWaitMs }),
    now: Date.now,
    sleep: (ms, signal) => abortableSleep(ms, signal, () => new ProviderError('cancelled', 'request cancelled')),
    classify: (prompt) => classifyTask(prompt).taskClass,
    onBudgetRefusal: () => config.budgetRefusal,
    onSpend: checkAlerts,
  });
  const ask = new AskService({
    router,
    sessions,
    context: new ContextAttacher(contextEngine, contextSettings),
    attempts,
    logger,
    defaultModel: () => config.defaultModel,
    systemPrompt: () => config.systemPrompt,
  });

  const reject = (file: string, issues: string[]): { ok: false; file: string; issues: string[] } => {
    logger.error('config rejected; keeping the last good one', { file, issues: issues.join('; ') });
    // Editors and running aic commands learn of it now, not at the next `aic status`.
    server.broadcast(LogNotification, { level: 'error', message: `config ${file} rejected, last good config kept: ${issues.join('; ')}` });
    configState = { file: paths.configFile, loaded: configState.loaded, error: issues.join('; ') };
    return { ok: false, file, issues };
  };
  /** Never throws: whatever is wrong with a new config, the daemon keeps running on the last good one. */
  const reload = (): { ok: boolean; file: string; issues?: string[] } => {
    const result = loadConfig(paths.configFile);
    if (!result.ok) return reject(result.file, result.issues);
    const previous = config;
    try {
      const intervalChanged = result.config.healthIntervalSec !== config.healthIntervalSec;
      const hosts = hostsFrom(result.config);
      config = result.config;
      configRaw = result.raw;
      logger.setLevel(config.logLevel);
      health.setProbeTimeout(config.probeTimeoutMs);
      health.setHosts(hosts);
      if (intervalChanged) health.startHealthChecks(config.healthIntervalSec * 1000);
    } catch (error) {
      config = previous;
      logger.error('applying the new config failed', { error: (error as Error).stack ?? String(error) });
      return reject(result.file, [`could not apply it: ${(error as Error).message}`]);
    }
    configState = { file: paths.configFile, loaded: result.exists };
    logger.info('config loaded', { file: paths.configFile });
    return { ok: true, file: paths.configFile };
  };

  const status = (): Omit<StatusResult, 'defaultModel'> => {
    // A deleted data directory shows here at once, not at the next check of the timer.
    store.verify();
    return {
      version,
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      uptimeMs: Date.now() - started,
      socket: paths.socket,
      hosts: health.statuses(),
      config: configState,
      store: { path: store.path, schemaVersion: store.schemaVersion, requests: ledger.count(), ...(store.incident ? { incident: store.incident } : {}) },
      activation: listenFd === undefined ? 'self' : 'systemd',
    };
  };

  const handlers = new HandlerRegistry().add(
    ...daemonHandlers({
      version,
      status,
      defaultModel: (signal) => describeDefaultModel((ref, fallback, s) => router.route(ref, fallback, s), config.defaultModel, signal),
      reload,
      requestShutdown: (reason) => void runShutdown(reason),
      config: () => ({
        ...configState,
        values: describeConfig(config, configRaw),
        environment: BUILT_IN_ENV.map((name) => ({ name, set: Boolean(env[name]?.trim()) })),
      }),
    }),
    ...catalogHandlers(health, catalog),
    ...chatHandlers(ask),
    ...ollamaHandlers(catalog),
    ...costHandlers(
      costs,
      () =>
        ledger.reprice((row) => {
          // A row priced from a host's listing keeps those rates: the listing of that day is gone.
          const listed = row.price?.source.endsWith('-listing') ? { listed: row.price } : {};
          return prices.cost({ provider: row.provider, host: row.host, model: row.model, ...listed }, row.usage, row.providerCostUsd);
        }),
      priceData,
      () => config.pricesUrl ?? DEFAULT_PRICES_URL,
    ),
    ...budgetHandlers(budgets, health, catalog),
    ...recommendHandlers(new Recommender(catalog, prices), ledger),
    ...sessionHandlers(sessions),
    ...contextHandlers(contextEngine, router, contextSettings, () => config.defaultModel),
  );
  const server = new DaemonServer({ registry: handlers, logger, handshakeTimeoutMs: () => config.handshakeTimeoutMs, maxMessageBytes: MAX_MESSAGE_BYTES });
  const configWatch = watchConfigFile(paths.configFile, () => void reload());

  /** The socket file we bound: the only one this daemon ever removes. */
  let bound: BoundSocket | undefined;
  // The daemon stands on its socket, its lock and its store file; someone may delete any of them.
  const footing = setInterval(() => {
    store.verify();
    const lost = !lock.held ? `its lock file ${paths.lockFile}` : bound && !isOurSocket(bound) ? `its socket ${paths.socket}` : undefined;
    if (!lost || shutdown.started) return;
    // Unreachable (no socket) or no longer the only daemon here (no lock): an orphan is worse than a stop.
    const message =
      `aid stops: ${lost} was removed or replaced (its directory deleted?), so clients can no longer reach this ` +
      `daemon (pid ${process.pid}); \`aid start\` starts one they can reach`;
    logger.error(message);
    server.broadcast(LogNotification, { level: 'error', message });
    exitCode = 1;
    void runShutdown(`lost ${lost}`);
  }, FOOTING_CHECK_MS);
  footing.unref();

  // The order of a clean stop; each step is independent of the ones that failed before it.
  // Closing the listener unlinks its path: not when the path is now another daemon's socket.
  shutdown.add('stop accepting', () => server.stopAccepting(bound === undefined || isOurSocket(bound)));
  shutdown.add('cancel in-flight requests', async () => {
    server.abortAll('shutdown');
    await server.drain(2000);
  });
  shutdown.add('close connections', () => server.closeConnections());
  shutdown.add('stop timers and watchers', async () => {
    health.stopHealthChecks();
    clearInterval(footing);
    configWatch.close();
    await contextEngine.close();
    for (const job of cronJobs) await job.destroy();
    // An alert still being sent (a webhook retrying) may finish, but does not hold the stop long.
    await Promise.race([checking, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  });
  shutdown.add('flush and close the store', () => store.close());
  shutdown.add('remove socket and registration', () => {
    if (bound) removeOurSocket(bound);
    removeRegistration(paths.registrationFile, process.pid);
  });
  shutdown.add('release lock', () => lock.release());
  shutdown.add('close log', () => {
    logger.info('stopped');
    logger.close();
  });
  const runShutdown = (reason: string): Promise<void> => shutdown.run(reason);

  try {
    if (listenFd !== undefined) await server.listenOnFd(listenFd);
    else bound = await server.listenOnPath(paths.socket);
  } catch (error) {
    await runShutdown('could not listen');
    throw new StartupError(`cannot listen on ${paths.socket}: ${(error as Error).message}`);
  }
  writeRegistration(paths.registrationFile, { pid: process.pid, socket: paths.socket, version, startedAt: new Date(started).toISOString() });
  health.startHealthChecks(config.healthIntervalSec * 1000);
  // Cron jobs in the user's zone; changed schedules apply from the next start.
  cronJobs.push(
    cron.schedule(config.alerts.checkCron, checkAlerts, { timezone: calendar.timeZone, noOverlap: true, name: 'budget-check' }),
    ...(config.alerts.dailyReportCron
      ? [
          cron.schedule(config.alerts.dailyReportCron, () => alerts.report('day').then(() => undefined), {
            timezone: calendar.timeZone,
            noOverlap: true,
            name: 'daily-report',
          }),
        ]
      : []),
    ...(config.alerts.weeklyReportCron
      ? [
          cron.schedule(config.alerts.weeklyReportCron, () => alerts.report('week').then(() => undefined), {
            timezone: calendar.timeZone,
            noOverlap: true,
            name: 'weekly-report',
          }),
        ]
      : []),
    // Each edit leaves the parse of the file's old content behind; once a night they go.
    cron.schedule(
      '17 4 * * *',
      () =>
        contextEngine.compact().then(
          (removed) => logger.info('context index compacted', { removed }),
          (error: unknown) => logger.warn('could not compact the context index', { error }),
        ),
      { timezone: calendar.timeZone, noOverlap: true, name: 'context-compact' },
    ),
  );
  // Alerts left pending by a crash go out now.
  checkAlerts();
  logger.info('aid started', {
    version,
    pid: process.pid,
    socket: paths.socket,
    activation: listenFd === undefined ? 'self' : 'systemd',
    data: path.resolve(paths.dataDir),
  });

  return { done: shutdown.finished.then(() => exitCode), shutdown: runShutdown };
}

/**
 * Each call the last daemon left in flight becomes a ledger row charged an estimate: its input as
 * sent, and the output its session turn had saved when the daemon died. Its turn shows the same.
 */
async function settleInterruptedCalls(ledger: Ledger, sessions: Sessions, cost: CallCost, logger: FileLogger): Promise<void> {
  try {
    const settled = await ledger.settleInterrupted((pending) => {
      const receivedText = pending.turn === undefined ? '' : sessions.partialAnswer(pending.sessionId, pending.turn);
      const billed = cost.bill({ sent: pending.sent, reached: true, receivedText });
      const { costUsd, price, calculatedUsd } = cost.price(CallCost.target(pending), billed.usage);
      return { usage: billed.usage, costUsd, ...(price ? { price } : {}), ...(calculatedUsd !== undefined ? { calculatedUsd } : {}) };
    });
    for (const { pending, record } of settled) {
      if (pending.turn !== undefined)
        await sessions.chargeInterrupted(pending.sessionId, pending.turn, {
          ref: `${pending.host}/${pending.model}`,
          costUsd: record.costUsd,
          error: INTERRUPTED,
        });
    }
    if (settled.length) {
      logger.warn('charged calls the last daemon left in flight (estimated)', {
        calls: settled.length,
        usd: settled.reduce((sum, s) => sum + (s.record.costUsd ?? 0), 0),
      });
    }
  } catch (error) {
    logger.error('could not settle the calls the last daemon left in flight; they stay pending', { error });
  }
}

/** The bundled price data's version, recorded with every cost (its package.json is not exported). */
function priceDatasetVersion(): string {
  try {
    const entry = require.resolve('@pydantic/genai-prices');
    const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

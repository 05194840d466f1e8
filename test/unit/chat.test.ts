import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AidError } from '../../daemon/errors/aid-error';
import type { AskService, AskLimits, Notice } from '../../daemon/chat/ask';
import { buildAskService } from '../helpers/ask-service';
import { deltaBatcher } from '../../daemon/handlers/chat';
import { Budgets } from '../../daemon/budget/budgets';
import { Calendar } from '../../daemon/ledger/calendar';
import { PriceBook } from '../../daemon/pricing/price-book';
import { defineHosts } from '../../daemon/catalog/hosts';
import { HostRegistry } from '../../daemon/catalog/registry';
import { configSchema } from '../../daemon/config/schema';
import { Ledger, type RequestRecord } from '../../daemon/ledger/ledger';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { ProviderError } from '../../daemon/providers/types';
import { Store } from '../../daemon/store/store';
import type { AskParams } from '../../protocol/chat';
import { ErrorCodes } from '../../protocol/errors';
import { ManualClock, ScriptedAdapter } from '../fakes/scripted-adapter';

/** Rooms throw AidErrors; the connection turns them into ResponseErrors (tested in server tests). */
async function rejectsWith(promise: Promise<unknown>, code: number): Promise<AidError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AidError, `expected an AidError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error as AidError;
  }
  assert.fail('expected a rejection');
}

/** The session an error names: the one its question was kept in (a real, stored session). */
function sessionOf(error: AidError): string {
  const id = (error.data as { sessionId?: unknown }).sessionId;
  assert.ok(typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id), `no session in ${JSON.stringify(error.data)}`);
  return id;
}

const params = (extra: Partial<AskParams> = {}): AskParams => ({ prompt: 'hi', model: 'ollama/llama3.2', streamToken: 't1', ...extra });
const live = (): AbortSignal => new AbortController().signal;

describe('AskService', () => {
  let dir: string;
  let store: Store;
  let logger: FileLogger;
  let clock: ManualClock;
  let adapter: ScriptedAdapter;
  let ledger: Ledger;
  let ask: AskService;
  let defaultModel: string | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-ask-'));
    store = await Store.open(path.join(dir, 'data'));
    logger = new FileLogger({ file: path.join(dir, 'aid.log'), level: 'info', redactor: new Redactor(), stderr: false });
    clock = new ManualClock(1000);
    defaultModel = undefined;
    const registry = new HostRegistry({
      createAdapter: (host) => {
        if (host.provider !== 'ollama') return undefined;
        adapter = new ScriptedAdapter(host.baseUrl, clock);
        return adapter;
      },
      logger,
      probeTimeoutMs: 2000,
    });
    registry.health.setHosts(defineHosts({}, configSchema.parse({})));
    let ledgerTime = 5_000_000;
    ledger = new Ledger(store, () => ledgerTime++);
    ask = buildAskService({ registry, store, ledger, logger, defaultModel: () => defaultModel, now: clock.now, sleep: () => Promise.resolve() }).ask;
  });
  afterEach(async () => {
    await store.close();
    logger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const onlyRow = (): RequestRecord => {
    assert.equal(ledger.count(), 1);
    const [row] = ledger.recent(1);
    assert.ok(row);
    return row;
  };

  describe('a successful request', () => {
    it('forwards the deltas in order and sends the prompt as a user message', async () => {
      adapter.chunks = ['The', ' answer', ' is', ' 42', '.'];
      const deltas: string[] = [];
      await ask.ask(params({ prompt: 'what is it?' }), (text) => deltas.push(text), live());
      assert.deepEqual(deltas, ['The', ' answer', ' is', ' 42', '.']);
      assert.deepEqual(adapter.requests, [{ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'what is it?' }] }]);
    });

    it('returns the usage, time to first token and latency from the clock', async () => {
      adapter.chunkMs = 10;
      adapter.usage = { inputTokens: 7, outputTokens: 2, cacheReadTokens: 1, cacheWriteTokens: 0, reasoningTokens: 0 };
      const result = await ask.ask(params(), () => undefined, live());
      assert.equal(result.ref, 'ollama/llama3.2:latest');
      assert.deepEqual(result.usage, { inputTokens: 7, outputTokens: 2, cacheReadTokens: 1, cacheWriteTokens: 0, reasoningTokens: 0 });
      assert.equal(result.costUsd, 0, 'Ollama is free');
      assert.equal(result.ttftMs, 10, 'first chunk after 10 ms');
      assert.equal(result.latencyMs, 30, 'two chunks and the done event, 10 ms each');
      assert.equal(result.finishReason, 'stop');
      assert.match(result.sessionId, /^[0-9a-f-]{36}$/);
    });

    it('records one ok row in the ledger', async () => {
      adapter.chunkMs = 10;
      const result = await ask.ask(params({ project: '/p' }), () => undefined, live());
      const row = onlyRow();
      assert.deepEqual(row, {
        id: row.id,
        time: 5_000_000,
        host: 'ollama',
        provider: 'ollama',
        model: 'llama3.2:latest',
        sessionId: result.sessionId,
        project: '/p',
        taskClass: 'quick question',
        source: 'aid',
        outcome: 'ok',
        usage: result.usage,
        costUsd: 0,
        calculatedUsd: 0,
        price: { source: 'free', inputPerMTok: 0, outputPerMTok: 0 },
        latencyMs: 30,
        ttftMs: 10,
      });
    });

    it('uses the default model when none is given', async () => {
      defaultModel = 'ollama/qwen2.5-coder:7b';
      const result = await ask.ask(params({ model: undefined }), () => undefined, live());
      assert.equal(result.ref, 'ollama/qwen2.5-coder:7b');
      assert.equal(adapter.requests[0]?.model, 'qwen2.5-coder:7b');
    });

    it('reports a null time to first token when no text came', async () => {
      adapter.chunks = [];
      const result = await ask.ask(params(), () => undefined, live());
      assert.equal(result.ttftMs, null);
      assert.equal(onlyRow().ttftMs, null);
    });
  });

  describe('cancellation', () => {
    it('aborting mid-stream stops the stream, answers Cancelled and records a cancelled row', async () => {
      adapter.chunks = ['a', 'b', 'c', 'd'];
      adapter.chunkMs = 5;
      const controller = new AbortController();
      const deltas: string[] = [];
      const error = await rejectsWith(
        ask.ask(
          params(),
          (text) => {
            deltas.push(text);
            controller.abort('cancelled');
          },
          controller.signal,
        ),
        ErrorCodes.Cancelled,
      );
      assert.equal(error.message, 'request cancelled');
      assert.deepEqual(deltas, ['a'], 'no text after the abort');
      const row = onlyRow();
      assert.equal(row.outcome, 'cancelled');
      assert.equal(row.ttftMs, 5);
      assert.equal(row.error, 'request cancelled');
    });

    it('a request cancelled before the provider is called answers Cancelled and calls nothing', async () => {
      const controller = new AbortController();
      controller.abort('cancelled');
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, controller.signal),
        ErrorCodes.Cancelled,
      );
      assert.equal(error.message, 'request cancelled');
      assert.equal(adapter.requests.length, 0);
      assert.equal(ledger.count(), 0);
    });
  });

  describe('provider failures', () => {
    it('unreachable → NoUsableHost, with the provider message', async () => {
      adapter.failWith = new ProviderError('unreachable', 'Ollama is not running at http://127.0.0.1:11434 — start it with `ollama serve`');
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.NoUsableHost,
      );
      assert.equal(error.message, 'Ollama is not running at http://127.0.0.1:11434 — start it with `ollama serve`');
      assert.deepEqual(error.data, { host: 'ollama', sessionId: sessionOf(error), costUsd: 0 });
    });

    it('not_found → UnknownModel with the ref', async () => {
      adapter.failWith = new ProviderError('not_found', "model 'llama3.2:latest' is not pulled on host ollama — run `aic pull llama3.2:latest`", 404);
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.UnknownModel,
      );
      assert.match(error.message, /aic pull llama3\.2:latest/);
      assert.deepEqual(error.data, { ref: 'ollama/llama3.2:latest', suggestions: [], sessionId: sessionOf(error), costUsd: 0 });
    });

    it('a 500 → ProviderError with host, provider and status', async () => {
      adapter.failWith = new ProviderError('server', 'Ollama at http://127.0.0.1:11434 answered 500: boom', 500);
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.ProviderError,
      );
      assert.equal(error.message, 'Ollama at http://127.0.0.1:11434 answered 500: boom');
      assert.deepEqual(error.data, { host: 'ollama', provider: 'ollama', status: 500, sessionId: sessionOf(error), costUsd: 0 });
    });

    it('rate limiting passes the retry delay on', async () => {
      adapter.failWith = new ProviderError('rate_limited', 'slow down', 429, 1500);
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.ProviderError,
      );
      assert.deepEqual(error.data, { host: 'ollama', provider: 'ollama', status: 429, retryAfterMs: 1500, sessionId: sessionOf(error), costUsd: 0 });
    });

    it('a failure mid-stream says how much of the answer was received', async () => {
      adapter.chunks = ['Hel', 'lo', ' there'];
      adapter.failWith = new ProviderError('stream', 'runner crashed');
      adapter.failAfter = 2;
      const deltas: string[] = [];
      const error = await rejectsWith(
        ask.ask(params(), (t) => deltas.push(t), live()),
        ErrorCodes.ProviderError,
      );
      assert.deepEqual(deltas, ['Hel', 'lo']);
      assert.equal(error.message, 'runner crashed (after 5 characters of the answer were received)');
    });

    it('an unexpected error → Internal', async () => {
      adapter.failWith = new TypeError('x is not a function');
      const error = await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.Internal,
      );
      assert.equal(error.message, 'unexpected failure: x is not a function');
    });

    it('records an error row for every failed call, with the message', async () => {
      adapter.chunkMs = 10;
      adapter.failWith = new ProviderError('bad_request', 'answered 400', 400);
      await rejectsWith(
        ask.ask(params({ project: '/p' }), () => undefined, live()),
        ErrorCodes.ProviderError,
      );
      adapter.failWith = new ProviderError('stream', 'runner crashed');
      adapter.failAfter = 1;
      await rejectsWith(
        ask.ask(params(), () => undefined, live()),
        ErrorCodes.ProviderError,
      );
      const [second, first] = ledger.recent(10);
      assert.equal(ledger.count(), 2);
      assert.deepEqual([first?.outcome, first?.error, first?.project, first?.ttftMs], ['error', 'answered 400', '/p', null]);
      assert.deepEqual([second?.outcome, second?.error, second?.ttftMs], ['error', 'runner crashed', 10]);
    });

    it('a model no host serves fails before any call, and leaves no row', async () => {
      const error = await rejectsWith(
        ask.ask(params({ model: 'ollama/nope' }), () => undefined, live()),
        ErrorCodes.UnknownModel,
      );
      assert.match(error.message, /aic pull nope/);
      assert.equal(adapter.requests.length, 0);
      assert.equal(ledger.count(), 0);
    });
  });

  describe('retries, failover and timeouts', () => {
    const waits: number[] = [];
    const notices: Notice[] = [];
    let adapters: Map<string, ScriptedAdapter>;
    let limits: AskLimits;

    /** Two Ollama hosts serving the same models, and a service whose sleeps are recorded, not slept. */
    function twoHosts(): AskService {
      adapters = new Map();
      const registry = new HostRegistry({
        createAdapter: (host) => {
          const a = new ScriptedAdapter(host.baseUrl, clock);
          adapters.set(host.name, a);
          return host.provider === 'ollama' ? a : undefined;
        },
        logger,
        probeTimeoutMs: 2000,
      });
      registry.health.setHosts(defineHosts({}, configSchema.parse({ hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://gpu:11434' } } })));
      return buildAskService({
        registry,
        store,
        ledger,
        logger,
        now: clock.now,
        limits: () => limits,
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      }).ask;
    }
    const host = (name: string): ScriptedAdapter => adapters.get(name) as ScriptedAdapter;
    beforeEach(() => {
      waits.length = 0;
      notices.length = 0;
      limits = { idleTimeoutMs: 120_000, firstTokenTimeoutMs: 300_000, maxRetryWaitMs: 20_000 };
    });
    const collect = (n: Notice): void => void notices.push(n);

    it('a host that fails before any text hands the request to the next host serving the model, and says so', async () => {
      const service = twoHosts();
      host('ollama').failWith = new ProviderError('unreachable', 'Ollama is not running at http://127.0.0.1:11434');
      const deltas: string[] = [];
      const result = await service.ask(params({ model: 'llama3.2' }), (t) => deltas.push(t), live(), { onNotice: collect });
      assert.equal(result.ref, 'gpu-box/llama3.2:latest');
      assert.equal(deltas.join(''), 'Hello');
      assert.deepEqual(
        notices.map((n) => [n.kind, n.host, n.next]),
        [['failover', 'ollama', 'gpu-box/llama3.2:latest']],
      );
      assert.match(notices[0]?.message ?? '', /ollama\/llama3.2:latest failed before answering \(Ollama is not running/);
      assert.deepEqual(result.warnings, [notices[0]?.message]);
      assert.deepEqual(
        ledger.recent(2).map((r) => [r.host, r.outcome]),
        [
          ['gpu-box', 'ok'],
          ['ollama', 'error'],
        ],
      );
    });

    it('after text has streamed, never switches hosts: the error says what was received', async () => {
      const service = twoHosts();
      host('ollama').failWith = new ProviderError('server', 'runner crashed', 500);
      host('ollama').failAfter = 1;
      const error = await rejectsWith(
        service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect }),
        ErrorCodes.ProviderError,
      );
      assert.match(error.message, /runner crashed \(after 3 characters of the answer were received\)/);
      assert.equal(host('gpu-box').requests.length, 0);
      assert.deepEqual(notices, []);
    });

    it('a model gone from a host (its cached list was wrong) moves on, and the list is asked afresh', async () => {
      const service = twoHosts();
      await service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect });
      const listed = host('ollama').listCalls;
      host('ollama').failWith = new ProviderError('not_found', "model 'llama3.2:latest' is not pulled on host ollama", 404);
      host('ollama').failCount = 1;
      const result = await service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect });
      assert.equal(result.ref, 'gpu-box/llama3.2:latest');
      await service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect });
      assert.equal(host('ollama').listCalls, listed + 1, 'the forgotten list was fetched again');
    });

    it('an explicit HOST/MODEL is not moved to another host', async () => {
      const service = twoHosts();
      host('ollama').failWith = new ProviderError('unreachable', 'Ollama is not running');
      await rejectsWith(
        service.ask(params({ model: 'ollama/llama3.2' }), () => undefined, live(), { onNotice: collect }),
        ErrorCodes.NoUsableHost,
      );
      assert.equal(host('gpu-box').requests.length, 0);
    });

    it('honours retry-after on a 429 from the last host, within maxRetryWaitMs', async () => {
      const service = twoHosts();
      host('ollama').failWith = new ProviderError('rate_limited', 'slow down', 429, 1500);
      host('ollama').failCount = 1;
      const result = await service.ask(params({ model: 'ollama/llama3.2' }), () => undefined, live(), { onNotice: collect });
      assert.equal(result.ref, 'ollama/llama3.2:latest');
      assert.deepEqual(waits, [1500]);
      assert.deepEqual(
        notices.map((n) => [n.kind, n.waitMs]),
        [['retry', 1500]],
      );
      assert.equal(result.warnings, undefined, 'a retry that worked is not a warning');
    });

    it('backs off on 5xx without retry-after, and gives up after two retries', async () => {
      const service = twoHosts();
      host('ollama').failWith = new ProviderError('server', 'overloaded', 529);
      const error = await rejectsWith(
        service.ask(params({ model: 'ollama/llama3.2' }), () => undefined, live(), { onNotice: collect }),
        ErrorCodes.ProviderError,
      );
      assert.match(error.message, /overloaded/);
      assert.deepEqual(waits, [500, 1000]);
      assert.equal(host('ollama').requests.length, 3);
      assert.deepEqual((error.data as { status?: number }).status, 529);
    });

    it('does not wait out a retry-after longer than maxRetryWaitMs', async () => {
      const service = twoHosts();
      limits.maxRetryWaitMs = 10_000;
      host('ollama').failWith = new ProviderError('rate_limited', 'quota window', 429, 60_000);
      const error = await rejectsWith(
        service.ask(params({ model: 'ollama/llama3.2' }), () => undefined, live(), { onNotice: collect }),
        ErrorCodes.ProviderError,
      );
      assert.deepEqual(waits, []);
      assert.deepEqual((error.data as { retryAfterMs?: number }).retryAfterMs, 60_000);
    });

    it('a stream that goes silent is abandoned after idleTimeoutMs, and the next host takes it if nothing was shown', async () => {
      const service = twoHosts();
      limits.idleTimeoutMs = 30;
      host('ollama').stallAfter = 1;
      const stalled = await rejectsWith(
        service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect }),
        ErrorCodes.ProviderError,
      );
      assert.match(stalled.message, /host ollama sent nothing for 0 s; abandoned the request \(after 3 characters/);
      // A timeout before any text is the host's fault: the request moves on.
      host('ollama').stallAfter = undefined;
      host('ollama').failWith = new ProviderError('timeout', 'no answer');
      const moved = await service.ask(params({ model: 'llama3.2' }), () => undefined, live(), { onNotice: collect });
      assert.equal(moved.ref, 'gpu-box/llama3.2:latest');
    });

    it('cancellation while waiting to retry stops at once', async () => {
      adapters = new Map();
      const registry = new HostRegistry({
        createAdapter: (h) => (h.provider === 'ollama' ? (adapters.set(h.name, new ScriptedAdapter(h.baseUrl, clock)), adapters.get(h.name)) : undefined),
        logger,
        probeTimeoutMs: 2000,
      });
      registry.health.setHosts(defineHosts({}, configSchema.parse({})));
      const service = buildAskService({ registry, store, ledger, logger, now: clock.now, limits: () => limits }).ask;
      host('ollama').failWith = new ProviderError('rate_limited', 'slow down', 429, 10_000);
      const controller = new AbortController();
      const pending = service.ask(params(), () => undefined, controller.signal, { onNotice: () => setTimeout(() => controller.abort(), 5) });
      await rejectsWith(pending, ErrorCodes.Cancelled);
      assert.equal(host('ollama').requests.length, 1);
    });

    it('reports tokens per second from the stream timing when the host does not measure it', async () => {
      const service = twoHosts();
      host('ollama').chunkMs = 100;
      host('ollama').usage = { ...host('ollama').usage, outputTokens: 11 };
      const result = await service.ask(params({ model: 'ollama/llama3.2' }), () => undefined, live(), { onNotice: collect });
      // 11 tokens; the first arrived after 100 ms, the rest over the next 200 ms (one chunk, then done).
      assert.equal(result.tokensPerSecond, 50);
    });
  });

  describe('deltaBatcher', () => {
    it('sends the first text at once, gathers what arrives in one turn, and flushes on demand', async () => {
      const sent: string[] = [];
      const batch = deltaBatcher((text) => sent.push(text));
      batch.push('A');
      assert.deepEqual(sent, ['A'], 'the first text is not held back');
      batch.push('b');
      batch.push('c');
      assert.deepEqual(sent, ['A']);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(sent, ['A', 'bc']);
      batch.push('d');
      batch.flush();
      assert.deepEqual(sent, ['A', 'bc', 'd']);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(sent, ['A', 'bc', 'd'], 'nothing is sent twice');
    });
  });

  describe('budgets', () => {
    let budgets: Budgets;
    let service: AskService;
    let cloud: ScriptedAdapter;
    const PROMPT = 'x'.repeat(30); // 30 bytes + 4 for the message: a worst case of 34 + 16 = 50 input tokens
    let budgetsLedgerRows: () => RequestRecord[];
    beforeEach(() => {
      const calendar = new Calendar('UTC');
      const priced = new Ledger(store, () => 5_000_000, calendar);
      budgetsLedgerRows = () => priced.recent(10);
      budgets = new Budgets(store, priced, calendar, () => 5_000_000);
      const registry = new HostRegistry({
        createAdapter: (host) => {
          cloud = new ScriptedAdapter(host.baseUrl, clock);
          cloud.models = [{ id: 'gpt-x' }];
          return cloud;
        },
        logger,
        probeTimeoutMs: 2000,
      });
      registry.health.setHosts([{ name: 'openai', provider: 'openai', baseUrl: 'http://sim', apiKey: 'k', builtIn: true }]);
      // $1,000 per million input tokens, output free: a call's worst case is exactly 50 input tokens = $0.05.
      const prices = new PriceBook({ overrides: () => ({ 'openai/gpt-x': { inputPerMTok: 1000, outputPerMTok: 0 } }), datasetVersion: 'test' });
      service = buildAskService({ registry, store, ledger: priced, logger, prices, budgets, now: clock.now }).ask;
    });

    it('200 concurrent asks never push recorded spend past a hard limit', async () => {
      // Each call really costs its worst case, so the limit admits exactly 10 of them.
      cloud.usage = { ...cloud.usage, inputTokens: 50, outputTokens: 0 };
      await budgets.set({ name: 'tight', limitUsd: 0.525, period: 'month', hard: true });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT, streamToken: `t${i}` }), () => undefined, live())),
      );
      const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
      const refused = outcomes.filter((o) => o.status === 'rejected' && (o.reason as AidError).code === ErrorCodes.BudgetRefused).length;
      assert.equal(ok, 10);
      assert.equal(refused, 190);
      const status = budgets.list()[0];
      assert.ok(status && status.spentUsd <= 0.525 + 1e-9, `spent ${status?.spentUsd}`);
      assert.equal(status?.spentUsd, 0.5);
      assert.equal(status?.reservedUsd, 0, 'nothing stays held');
    });

    it('a refusal names the budget, what is left and the worst case; the output is capped so the worst case holds', async () => {
      await budgets.set({ name: 'daily', limitUsd: 0.04, period: 'day', hard: true, scope: { kind: 'provider', value: 'openai' } });
      const error = await rejectsWith(
        service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT }), () => undefined, live()),
        ErrorCodes.BudgetRefused,
      );
      assert.match(
        error.message,
        /^refused by budget 'daily' \(\$0\.04 a day on provider=openai, hard\): \$0 spent, \$0\.04 left; this request to openai\/gpt-x could cost up to \$0\.05; no known model fits$/,
      );
      assert.deepEqual((error.data as { budget: string; worstUsd: number }).budget, 'daily');
      await budgets.set({ name: 'daily', limitUsd: 1, period: 'day', hard: true });
      await service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT }), () => undefined, live());
      assert.equal(cloud.requests.at(-1)?.maxOutputTokens, 4096, 'the provider is told the output cap the worst case assumed');
    });

    it('a call cut after text streamed is charged an estimate, flagged, never $0; its hold is released', async () => {
      await budgets.set({ name: 'm', limitUsd: 10, period: 'month', hard: true, scope: { kind: 'model', value: 'GPT-X' } });
      cloud.chunks = ['x'.repeat(400), 'y'.repeat(400)];
      cloud.failWith = new ProviderError('stream', 'connection reset');
      cloud.failAfter = 1;
      await rejectsWith(
        service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT }), () => undefined, live()),
        ErrorCodes.ProviderError,
      );
      const [row] = budgetsLedgerRows();
      assert.equal(row?.usageEstimated, true);
      // 30/4 + 4 → 12 input tokens at $1,000/M; 400 characters received ≈ 100 output tokens, free here.
      assert.equal(row?.costUsd, (12 * 1000) / 1e6);
      const status = budgets.list()[0];
      assert.deepEqual([status?.spentUsd, status?.reservedUsd], [0.012, 0], 'the model scope matched in another case; the hold is gone, the estimate counted');
    });

    it('--max-cost caps one request the same way; soft budgets never refuse', async () => {
      await budgets.set({ name: 'soft', limitUsd: 0.01, period: 'month' });
      await service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT }), () => undefined, live());
      const error = await rejectsWith(
        service.ask(params({ model: 'openai/gpt-x', prompt: PROMPT, maxCostUsd: 0.01 }), () => undefined, live()),
        ErrorCodes.BudgetRefused,
      );
      assert.match(error.message, /could cost up to \$0\.05, more than --max-cost \$0\.01/);
    });
  });
});

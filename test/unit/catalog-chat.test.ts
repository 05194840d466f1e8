import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { AskService } from '../../daemon/chat/ask';
import { defineHosts, normalizeOllamaUrl, type HostDefinition } from '../../daemon/catalog/hosts';
import { HostRegistry, findModel } from '../../daemon/catalog/registry';
import { closestNames } from '../../daemon/catalog/suggest';
import { configSchema } from '../../daemon/config/schema';
import { Ledger, type RequestRecord } from '../../daemon/ledger/ledger';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { ProviderError, zeroUsage, type ChatEvent, type ChatRequest, type DiscoveredModel, type HealthReport, type ProviderAdapter } from '../../daemon/providers/types';
import { Store } from '../../daemon/store/store';
import { ErrorCodes } from '../../protocol/errors';

/** A provider adapter whose behaviour each test scripts; passed in through the registry's factory. */
class FakeAdapter implements ProviderAdapter {
  readonly provider = 'ollama' as const;
  models: DiscoveredModel[] = [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }];
  healthy = true;
  hang = false;
  chunks = ['Hel', 'lo'];
  failWith: ProviderError | undefined;
  failAfter: number | undefined;
  requests: ChatRequest[] = [];

  constructor(readonly baseUrl: string) {}

  private async maybeHang(signal: AbortSignal): Promise<void> {
    if (!this.hang) return;
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }

  async health(signal: AbortSignal): Promise<HealthReport> {
    await this.maybeHang(signal);
    if (!this.healthy) throw new ProviderError('unreachable', `nothing at ${this.baseUrl}`);
    return { version: '9.9' };
  }

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    await this.maybeHang(signal);
    if (!this.healthy) throw new ProviderError('unreachable', `nothing at ${this.baseUrl}`);
    return this.models;
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    this.requests.push(request);
    if (this.failWith && this.failAfter === undefined) throw this.failWith;
    for (let i = 0; i < this.chunks.length; i++) {
      if (this.failWith && this.failAfter === i) throw this.failWith;
      if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
      yield { type: 'delta', text: this.chunks[i] };
      await new Promise((r) => setImmediate(r));
    }
    yield { type: 'done', usage: { ...zeroUsage(), inputTokens: 5, outputTokens: this.chunks.length }, finishReason: 'stop' };
  }
}

const silentLogger = (dir: string): FileLogger => new FileLogger({ file: path.join(dir, 'log'), level: 'error', redactor: new Redactor(), stderr: false });

function registryWith(dir: string, hosts: HostDefinition[], probeTimeoutMs = 200): { registry: HostRegistry; adapters: Map<string, FakeAdapter> } {
  const adapters = new Map<string, FakeAdapter>();
  const registry = new HostRegistry({
    createAdapter: (host) => {
      if (host.provider !== 'ollama') return undefined;
      const adapter = new FakeAdapter(host.baseUrl);
      adapters.set(host.name, adapter);
      return adapter;
    },
    logger: silentLogger(dir),
    probeTimeoutMs,
  });
  registry.setHosts(hosts);
  return { registry, adapters };
}

async function rejectsWith(promise: Promise<unknown>, code: number, message?: RegExp): Promise<ResponseError<unknown>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ResponseError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('catalog', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-cat-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('normalises OLLAMA_HOST forms', () => {
    assert.equal(normalizeOllamaUrl(undefined), 'http://127.0.0.1:11434');
    assert.equal(normalizeOllamaUrl('gpu-box'), 'http://gpu-box:11434');
    assert.equal(normalizeOllamaUrl('10.0.0.5:8080'), 'http://10.0.0.5:8080');
    assert.equal(normalizeOllamaUrl(':9999'), 'http://127.0.0.1:9999');
    assert.equal(normalizeOllamaUrl('https://ollama.example.com/'), 'https://ollama.example.com');
    assert.equal(normalizeOllamaUrl('http://h:1234/prefix/'), 'http://h:1234/prefix');
  });

  it('defines built-in hosts from the environment and extra hosts from config', () => {
    const config = configSchema.parse({ hosts: { 'gpu-box': { provider: 'ollama', baseUrl: '192.168.1.20' }, work: { provider: 'openai', baseUrl: 'https://x/v1/', apiKeyEnv: 'WORK_KEY' } } });
    const hosts = defineHosts({ GOOGLE_API_KEY: 'g-key-123456', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/', WORK_KEY: 'w-key-123456' }, config);
    const byName = new Map(hosts.map((h) => [h.name, h]));
    assert.deepEqual([...byName.keys()], ['anthropic', 'openai', 'gemini', 'openrouter', 'ollama', 'gpu-box', 'work']);
    assert.equal(byName.get('gemini')?.apiKey, 'g-key-123456');
    assert.equal(byName.get('anthropic')?.apiKey, undefined);
    assert.equal(byName.get('openai')?.baseUrl, 'http://127.0.0.1:9/v1');
    assert.equal(byName.get('gpu-box')?.baseUrl, 'http://192.168.1.20:11434');
    assert.equal(byName.get('work')?.apiKey, 'w-key-123456');
    assert.deepEqual(byName.get('work')?.keyEnv, ['WORK_KEY']);
  });

  it('finds models by tag-less names and suggests close ones', () => {
    const models = [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }];
    assert.equal(findModel(models, 'llama3.2')?.id, 'llama3.2:latest');
    assert.equal(findModel(models, 'LLAMA3.2:latest')?.id, 'llama3.2:latest');
    assert.equal(findModel(models, 'qwen2.5-coder'), undefined);
    assert.deepEqual(closestNames('llama3.3', ['llama3.2:latest', 'qwen2.5-coder:7b']), ['llama3.2:latest']);
    assert.deepEqual(closestNames('gpt-5', ['llama3.2:latest']), []);
  });

  it('reports unconfigured, unsupported, up and down hosts', async () => {
    const hosts = defineHosts({ OPENAI_API_KEY: 'sk-test-123456' }, configSchema.parse({ hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://gpu:11434' } } }));
    const { registry, adapters } = registryWith(dir, hosts);
    (adapters.get('gpu-box') as FakeAdapter).healthy = false;
    const statuses = new Map((await registry.probeAll()).map((s) => [s.name, s]));
    assert.equal(statuses.get('anthropic')?.health, 'unconfigured');
    assert.equal(statuses.get('anthropic')?.error, 'set ANTHROPIC_API_KEY');
    assert.equal(statuses.get('openai')?.health, 'down');
    assert.match(statuses.get('openai')?.error ?? '', /not supported by this build/);
    assert.equal(statuses.get('ollama')?.health, 'up');
    assert.equal(statuses.get('ollama')?.version, '9.9');
    assert.equal(typeof statuses.get('ollama')?.latencyMs, 'number');
    assert.equal(statuses.get('gpu-box')?.health, 'down');
    assert.equal(statuses.get('gpu-box')?.error, 'nothing at http://gpu:11434');
  });

  it('gives up on a hanging host at the probe deadline', async () => {
    const { registry, adapters } = registryWith(dir, defineHosts({}, configSchema.parse({})), 50);
    (adapters.get('ollama') as FakeAdapter).hang = true;
    const ollama = (await registry.probeAll()).find((s) => s.name === 'ollama');
    assert.equal(ollama?.health, 'down');
    assert.equal(ollama?.error, 'no answer within 50 ms from http://127.0.0.1:11434');
    const models = await registry.listModels();
    assert.deepEqual(models.models, []);
    assert.match(models.failures[0]?.error ?? '', /no answer within 50 ms/);
  });

  it('resolves HOST/MODEL, bare models, slashes in ids, defaults', async () => {
    const config = configSchema.parse({ hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://gpu:11434' } } });
    const { registry, adapters } = registryWith(dir, defineHosts({}, config));
    (adapters.get('gpu-box') as FakeAdapter).models = [{ id: 'meta-llama/llama-3.3-70b' }, { id: 'big:70b' }];
    await registry.probeAll();
    assert.equal((await registry.resolve('ollama/llama3.2', undefined)).ref, 'ollama/llama3.2:latest');
    assert.equal((await registry.resolve('gpu-box/meta-llama/llama-3.3-70b', undefined)).model, 'meta-llama/llama-3.3-70b');
    assert.equal((await registry.resolve('meta-llama/llama-3.3-70b', undefined)).ref, 'gpu-box/meta-llama/llama-3.3-70b');
    assert.equal((await registry.resolve('big:70b', undefined)).host.name, 'gpu-box');
    assert.equal((await registry.resolve(undefined, 'gpu-box/big:70b')).ref, 'gpu-box/big:70b');
    assert.equal((await registry.resolve(undefined, undefined)).ref, 'ollama/llama3.2:latest');
    const unknown = await rejectsWith(registry.resolve('ollama/llama3.3', undefined), ErrorCodes.UnknownModel, /ollama pull llama3\.3.*closest: llama3\.2:latest/);
    assert.deepEqual((unknown.data as { suggestions: string[] }).suggestions, ['llama3.2:latest']);
    await rejectsWith(registry.resolve('nothing-like-it', undefined), ErrorCodes.UnknownModel, /no host serves a model named 'nothing-like-it'/);
    await rejectsWith(registry.resolve('anthropic/claude', undefined), ErrorCodes.NoUsableHost, /set ANTHROPIC_API_KEY/);
  });

  it('explains what to configure when no host can serve', async () => {
    const { registry, adapters } = registryWith(dir, defineHosts({}, configSchema.parse({})));
    (adapters.get('ollama') as FakeAdapter).healthy = false;
    await rejectsWith(registry.resolve(undefined, undefined), ErrorCodes.NoUsableHost, /nothing at http:\/\/127\.0\.0\.1:11434[\s\S]*ollama serve[\s\S]*ANTHROPIC_API_KEY/);
    await rejectsWith(registry.resolve('llama3.2', undefined), ErrorCodes.NoUsableHost, /no host could serve 'llama3\.2'/);
    await rejectsWith(registry.listModels('nope'), ErrorCodes.NotFound, /no host named 'nope'/);
  });
});

describe('AskService', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-ask-'));
    store = await Store.open(path.join(dir, 'data'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function service(): { ask: AskService; adapter: FakeAdapter; ledger: Ledger } {
    const { registry, adapters } = registryWith(dir, defineHosts({}, configSchema.parse({})));
    let t = 1000;
    const ledger = new Ledger(store, () => 5000);
    const ask = new AskService({ registry, ledger, logger: silentLogger(dir), defaultModel: () => undefined, now: () => (t += 10) });
    return { ask, adapter: adapters.get('ollama') as FakeAdapter, ledger };
  }

  it('forwards deltas in order, returns usage and timings, and records the call', async () => {
    const { ask, adapter, ledger } = service();
    const deltas: string[] = [];
    const result = await ask.ask({ prompt: 'hi', model: 'ollama/llama3.2', streamToken: 't', project: '/p' }, (t) => deltas.push(t), new AbortController().signal);
    assert.deepEqual(deltas, ['Hel', 'lo']);
    assert.deepEqual(adapter.requests[0]?.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(result.ref, 'ollama/llama3.2:latest');
    assert.deepEqual(result.usage, { inputTokens: 5, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    assert.equal(result.costUsd, 0);
    assert.equal(result.ttftMs, 10);
    assert.ok(result.latencyMs > (result.ttftMs as number));
    const [row] = ledger.recent(1) as [RequestRecord];
    assert.equal(row.outcome, 'ok');
    assert.equal(row.project, '/p');
    assert.equal(row.sessionId, result.sessionId);
    assert.equal(row.time, 5000);
  });

  it('maps provider failures to protocol errors and records them', async () => {
    const { ask, adapter, ledger } = service();
    const signal = new AbortController().signal;
    adapter.failWith = new ProviderError('unreachable', 'Ollama is not running');
    await rejectsWith(ask.ask({ prompt: 'x', model: 'ollama/llama3.2', streamToken: 't' }, () => undefined, signal), ErrorCodes.NoUsableHost);
    adapter.failWith = new ProviderError('not_found', "model 'llama3.2:latest' is not pulled", 404);
    await rejectsWith(ask.ask({ prompt: 'x', model: 'ollama/llama3.2', streamToken: 't' }, () => undefined, signal), ErrorCodes.UnknownModel);
    adapter.failWith = new ProviderError('server', 'answered 500', 500);
    const provider = await rejectsWith(ask.ask({ prompt: 'x', model: 'ollama/llama3.2', streamToken: 't' }, () => undefined, signal), ErrorCodes.ProviderError);
    assert.deepEqual(provider.data, { host: 'ollama', provider: 'ollama', status: 500 });
    adapter.failWith = new ProviderError('stream', 'runner crashed');
    adapter.failAfter = 1;
    await rejectsWith(ask.ask({ prompt: 'x', model: 'ollama/llama3.2', streamToken: 't' }, () => undefined, signal), ErrorCodes.ProviderError, /runner crashed \(after 3 characters of the answer were received\)/);
    assert.deepEqual(ledger.recent(10).map((r) => r.outcome), ['error', 'error', 'error', 'error']);
  });

  it('a cancelled request is reported as cancelled and recorded', async () => {
    const { ask, ledger } = service();
    const controller = new AbortController();
    await rejectsWith(ask.ask({ prompt: 'x', model: 'ollama/llama3.2', streamToken: 't' }, () => controller.abort(), controller.signal), ErrorCodes.Cancelled);
    assert.equal(ledger.recent(1)[0]?.outcome, 'cancelled');
  });
});

describe('Store', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-store-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('records the schema version, runs migrations once, and keeps data across reopen', async () => {
    let runs = 0;
    const migration = { to: 1, description: 'seed', run: async (s: Store) => void (runs++, await s.db('meta').put('seeded', true)) };
    const first = await Store.open(dir, [migration]);
    assert.equal(first.schemaVersion, 1);
    assert.equal(runs, 1);
    await first.db('requests').put('k', { v: 1 });
    await first.close();
    await first.close();
    const second = await Store.open(dir, [migration]);
    assert.equal(runs, 1, 'not run again');
    assert.deepEqual(second.db('requests').get('k'), { v: 1 });
    assert.equal(second.db('meta').get('seeded'), true);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    await second.db('meta').put('schemaVersion', 99);
    await second.close();
    await assert.rejects(Store.open(dir), /schema version 99, newer than this aid understands/);
  });
});

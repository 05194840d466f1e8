import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defineHosts, isConfigured, normalizeOllamaUrl, type HostDefinition } from '../../daemon/catalog/hosts';
import { HostRegistry } from '../../daemon/catalog/registry';
import { MAX_BACKOFF_MS } from '../../daemon/catalog/host-health';
import { findModel } from '../../daemon/catalog/model-match';
import { NO_HOST_HINT } from '../../daemon/catalog/router';
import { closestNames } from '../../protocol/suggest';
import { recommendedModel } from '../../daemon/catalog/default-model';
import { DiscoveryCache, type CachedList, type ListStore } from '../../daemon/catalog/discovery';
import { configSchema } from '../../daemon/config/schema';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { ProviderError } from '../../daemon/providers/types';
import { ErrorCodes } from '../../protocol/errors';
import { AidError } from '../../daemon/errors/aid-error';
import type { HostStatus } from '../../protocol/hosts';
import { ManualClock, ScriptedAdapter } from '../fakes/scripted-adapter';

const config = (value: unknown = {}): ReturnType<typeof configSchema.parse> => configSchema.parse(value);
const GPU_BOX = { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://gpu:11434' } } };

async function rejectsWith(promise: Promise<unknown>, code: number, message?: RegExp): Promise<{ code: number; message: string; data: unknown }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AidError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('catalog', () => {
  describe('normalizeOllamaUrl', () => {
    it('accepts what OLLAMA_HOST accepts', () => {
      const cases: [string | undefined, string][] = [
        [undefined, 'http://127.0.0.1:11434'],
        ['', 'http://127.0.0.1:11434'],
        ['   ', 'http://127.0.0.1:11434'],
        ['gpu-box', 'http://gpu-box:11434'],
        ['10.0.0.5:8080', 'http://10.0.0.5:8080'],
        [':9999', 'http://127.0.0.1:9999'],
        ['[::1]:11434', 'http://[::1]:11434'],
        ['http://h:1234', 'http://h:1234'],
        ['http://h:1234/', 'http://h:1234'],
        ['https://ollama.example.com/', 'https://ollama.example.com'],
        ['http://h:1234/prefix/', 'http://h:1234/prefix'],
        [' gpu-box:1234 ', 'http://gpu-box:1234'],
      ];
      for (const [input, expected] of cases) assert.equal(normalizeOllamaUrl(input), expected, `OLLAMA_HOST=${String(input)}`);
    });
  });

  describe('defineHosts', () => {
    it('defines the built-in hosts with their default URLs, unconfigured without keys', () => {
      const hosts = defineHosts({}, config());
      assert.deepEqual(
        hosts.map((h) => [h.name, h.provider, h.baseUrl, h.builtIn, isConfigured(h)]),
        [
          ['anthropic', 'anthropic', 'https://api.anthropic.com', true, false],
          ['openai', 'openai', 'https://api.openai.com/v1', true, false],
          ['gemini', 'gemini', 'https://generativelanguage.googleapis.com', true, false],
          ['openrouter', 'openrouter', 'https://openrouter.ai/api/v1', true, false],
          ['ollama', 'ollama', 'http://127.0.0.1:11434', true, true],
        ],
      );
      for (const h of hosts) assert.equal(h.apiKey, undefined);
    });

    it('reads keys and base URLs from the conventional variables', () => {
      const env = {
        ANTHROPIC_API_KEY: 'a-key-123456',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
        OPENAI_API_KEY: '   ',
        OPENROUTER_API_KEY: 'or-key-123456',
        OLLAMA_HOST: 'gpu:1234',
      };
      const byName = new Map(defineHosts(env, config()).map((h) => [h.name, h]));
      assert.equal(byName.get('anthropic')?.apiKey, 'a-key-123456');
      assert.equal(byName.get('anthropic')?.baseUrl, 'http://127.0.0.1:9');
      assert.equal(byName.get('openai')?.apiKey, undefined, 'a blank key is no key');
      assert.equal(byName.get('openrouter')?.apiKey, 'or-key-123456');
      assert.equal(byName.get('ollama')?.baseUrl, 'http://gpu:1234');
    });

    it('takes GEMINI_API_KEY, else GOOGLE_API_KEY', () => {
      const gemini = (env: Record<string, string>): HostDefinition | undefined => defineHosts(env, config()).find((h) => h.name === 'gemini');
      assert.equal(gemini({ GOOGLE_API_KEY: 'g-key-123456' })?.apiKey, 'g-key-123456');
      assert.equal(gemini({ GOOGLE_API_KEY: 'g-key-123456', GEMINI_API_KEY: 'gem-key-123456' })?.apiKey, 'gem-key-123456');
      assert.deepEqual(gemini({})?.keyEnv, ['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
    });

    it('adds the config hosts after the built-in ones', () => {
      const hosts = defineHosts(
        { WORK_KEY: 'w-key-123456', OPENROUTER_API_KEY: 'or-key-123456' },
        config({
          hosts: {
            'gpu-box': { provider: 'ollama', baseUrl: '192.168.1.20' },
            work: { provider: 'openai', baseUrl: 'https://x/v1/', apiKeyEnv: 'WORK_KEY' },
            nokey: { provider: 'anthropic', baseUrl: 'https://proxy', apiKeyEnv: 'MISSING_KEY' },
            proxy: { provider: 'openrouter', baseUrl: 'https://proxy.example/api/v1' },
          },
        }),
      );
      const byName = new Map(hosts.map((h) => [h.name, h]));
      assert.deepEqual([...byName.keys()], ['anthropic', 'openai', 'gemini', 'openrouter', 'ollama', 'gpu-box', 'work', 'nokey', 'proxy']);
      assert.deepEqual(byName.get('gpu-box'), { name: 'gpu-box', provider: 'ollama', baseUrl: 'http://192.168.1.20:11434', builtIn: false });
      assert.deepEqual(byName.get('work'), {
        name: 'work',
        provider: 'openai',
        baseUrl: 'https://x/v1',
        builtIn: false,
        apiKey: 'w-key-123456',
        keyEnv: ['WORK_KEY'],
      });
      assert.equal(byName.get('nokey')?.apiKey, undefined);
      assert.deepEqual(byName.get('nokey')?.keyEnv, ['MISSING_KEY']);
      // Without apiKeyEnv, a host uses its provider's variable, the one the "set ..." hint names.
      assert.deepEqual(byName.get('proxy')?.keyEnv, ['OPENROUTER_API_KEY']);
      assert.equal(byName.get('proxy')?.apiKey, 'or-key-123456');
    });
  });

  describe('recommendedModel', () => {
    const ids = (...names: string[]): { id: string }[] => names.map((id) => ({ id }));
    it('picks an everyday model per provider, not the first listed; the first when none matches', () => {
      assert.equal(recommendedModel('anthropic', ids('claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5'))?.id, 'claude-sonnet-4-5');
      assert.equal(recommendedModel('openai', ids('gpt-4o', 'o3', 'gpt-4.1-mini', 'gpt-4o-mini'))?.id, 'gpt-4.1-mini');
      assert.equal(recommendedModel('gemini', ids('gemini-2.5-pro', 'gemini-2.5-flash-lite', 'gemini-2.5-flash'))?.id, 'gemini-2.5-flash');
      assert.equal(recommendedModel('ollama', ids('qwen2.5-coder:7b', 'llama3.2:latest'))?.id, 'qwen2.5-coder:7b');
      assert.equal(recommendedModel('openai', ids('custom-model'))?.id, 'custom-model');
      assert.equal(recommendedModel('openai', []), undefined);
    });
  });

  describe('model names', () => {
    it('findModel matches exact ids, and a tag-less name to :latest', () => {
      const models = [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }, { id: 'meta-llama/llama-3.3-70b' }];
      assert.equal(findModel(models, 'llama3.2')?.id, 'llama3.2:latest');
      assert.equal(findModel(models, 'llama3.2:latest')?.id, 'llama3.2:latest');
      assert.equal(findModel(models, 'LLAMA3.2:latest')?.id, 'llama3.2:latest');
      assert.equal(findModel(models, 'meta-llama/llama-3.3-70b')?.id, 'meta-llama/llama-3.3-70b');
      assert.equal(findModel(models, 'qwen2.5-coder'), undefined, 'no :latest tag, no match');
      assert.equal(findModel(models, 'llama3.2:1b'), undefined);
    });

    it('closestNames suggests near names, best first, and nothing for unrelated ones', () => {
      const names = ['llama3.2:latest', 'llama3.1:8b', 'qwen2.5-coder:7b'];
      assert.deepEqual(closestNames('llama3.3', names), ['llama3.1:8b', 'llama3.2:latest']);
      assert.deepEqual(closestNames('qwen2.5-coder', names), ['qwen2.5-coder:7b']);
      assert.deepEqual(closestNames('lama3.2', names)[0], 'llama3.2:latest');
      assert.deepEqual(closestNames('gpt-5', names), []);
      assert.equal(closestNames('llama', ['llama1', 'llama2', 'llama3', 'llama4'], 3).length, 3);
    });
  });

  describe('HostRegistry', () => {
    let dir: string;
    let logFile: string;
    let logger: FileLogger;
    let clock: ManualClock;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-cat-'));
      logFile = path.join(dir, 'aid.log');
      logger = new FileLogger({ file: logFile, level: 'info', redactor: new Redactor(), stderr: false });
      clock = new ManualClock();
    });
    afterEach(() => {
      logger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A registry whose Ollama-provider hosts are scripted adapters; other providers have no adapter, as in this build. */
    function registryWith(
      env: Record<string, string>,
      cfg: unknown = {},
      probeTimeoutMs = 2000,
      cache?: DiscoveryCache,
    ): { registry: HostRegistry; fake: (name: string) => ScriptedAdapter; created: string[] } {
      const adapters = new Map<string, ScriptedAdapter>();
      const created: string[] = [];
      const registry = new HostRegistry({
        createAdapter: (host) => {
          created.push(host.name);
          if (host.provider !== 'ollama') return undefined;
          const adapter = new ScriptedAdapter(host.baseUrl, clock);
          adapters.set(host.name, adapter);
          return adapter;
        },
        logger,
        probeTimeoutMs,
        now: clock.now,
        ...(cache ? { cache } : {}),
      });
      registry.health.setHosts(defineHosts(env, config(cfg)));
      const fake = (name: string): ScriptedAdapter => {
        const adapter = adapters.get(name);
        assert.ok(adapter, `no adapter for ${name}`);
        return adapter;
      };
      return { registry, fake, created };
    }

    const byName = (statuses: HostStatus[]): Map<string, HostStatus> => new Map(statuses.map((s) => [s.name, s]));

    describe('statuses and probes', () => {
      it('lists unconfigured, unsupported and not-yet-checked hosts before any probe', () => {
        const { registry, created } = registryWith({ OPENAI_API_KEY: 'sk-test-123456' });
        assert.deepEqual(created, ['openai', 'ollama'], 'adapters only for hosts with what they need');
        assert.deepEqual(registry.health.statuses(), [
          { name: 'anthropic', provider: 'anthropic', baseUrl: 'https://api.anthropic.com', health: 'unconfigured', error: 'set ANTHROPIC_API_KEY' },
          {
            name: 'openai',
            provider: 'openai',
            baseUrl: 'https://api.openai.com/v1',
            health: 'down',
            error: 'openai is not supported by this build of aid yet',
          },
          {
            name: 'gemini',
            provider: 'gemini',
            baseUrl: 'https://generativelanguage.googleapis.com',
            health: 'unconfigured',
            error: 'set GEMINI_API_KEY or GOOGLE_API_KEY',
          },
          { name: 'openrouter', provider: 'openrouter', baseUrl: 'https://openrouter.ai/api/v1', health: 'unconfigured', error: 'set OPENROUTER_API_KEY' },
          { name: 'ollama', provider: 'ollama', baseUrl: 'http://127.0.0.1:11434', health: 'down', error: 'not checked yet' },
        ]);
      });

      it('probes up hosts for latency and version, down hosts for the reason', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('ollama').healthMs = 25;
        fake('ollama').version = '0.12.6';
        fake('gpu-box').down = new ProviderError('unreachable', 'nothing at http://gpu:11434');
        const statuses = byName(await registry.health.probeAll());
        assert.deepEqual(statuses.get('ollama'), {
          name: 'ollama',
          provider: 'ollama',
          baseUrl: 'http://127.0.0.1:11434',
          health: 'up',
          latencyMs: 25,
          checkedAt: 1025,
          version: '0.12.6',
        });
        assert.equal(statuses.get('gpu-box')?.health, 'down');
        assert.equal(statuses.get('gpu-box')?.error, 'nothing at http://gpu:11434');
        assert.equal(statuses.get('gpu-box')?.latencyMs, undefined);
        assert.equal(statuses.get('anthropic')?.health, 'unconfigured', 'a probe does not touch unconfigured hosts');
        const again = await registry.health.probeAll();
        assert.equal(byName(again).get('ollama')?.checkedAt, 1050);
        assert.deepEqual(registry.health.statuses(), again, 'statuses() answers from the last probe');
      });

      it('marks a host that stops answering as down, and logs it', async () => {
        const { registry, fake } = registryWith({});
        assert.equal(byName(await registry.health.probeAll()).get('ollama')?.health, 'up');
        fake('ollama').down = new ProviderError('unreachable', 'Ollama is not running');
        assert.equal(byName(await registry.health.probeAll()).get('ollama')?.error, 'Ollama is not running');
        logger.close();
        assert.match(fs.readFileSync(logFile, 'utf8'), /WARN {2}host went down host=ollama error="Ollama is not running"/);
      });

      it('gives up on a hanging host at probeTimeoutMs, aborting its signal', async () => {
        const { registry, fake } = registryWith({}, {}, 50);
        fake('ollama').hang = true;
        // The fake only returns once its signal aborts, so getting here proves the deadline fired.
        const ollama = byName(await registry.health.probeAll()).get('ollama');
        assert.equal(ollama?.health, 'down');
        assert.equal(ollama?.error, 'no answer within 50 ms from http://127.0.0.1:11434');
        const models = await registry.catalog.listModels();
        assert.deepEqual(models.models, []);
        assert.deepEqual(models.failures, [{ host: 'ollama', error: 'no answer within 50 ms from http://127.0.0.1:11434' }]);
      });

      it('backs off from a host that stays down, and returns to the interval once it is up', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        const dead = fake('gpu-box');
        dead.down = new ProviderError('unreachable', 'gone');
        const interval = 1000;
        const probesAt: number[] = [];
        // Tick every interval for 20 intervals and record when the dead host was probed.
        for (let i = 0; i < 20; i++) {
          const before = dead.healthCalls;
          await registry.health.probeDue(interval);
          if (dead.healthCalls > before) probesAt.push(i);
          clock.advance(interval);
        }
        assert.deepEqual(probesAt, [0, 2, 6, 14], 'waits of 2, 4 and 8 intervals after 1, 2 and 3 failures');
        assert.ok(fake('ollama').healthCalls >= 20, 'a healthy host is probed every interval');
        dead.down = undefined;
        clock.advance(16 * interval);
        await registry.health.probeDue(interval);
        assert.equal(byName(registry.health.statuses()).get('gpu-box')?.health, 'up');
        const after = dead.healthCalls;
        clock.advance(interval);
        await registry.health.probeDue(interval);
        assert.equal(dead.healthCalls, after + 1, 'back to every interval');
      });

      it('probes a healthy host every interval, counted from the start of the round, and never twice at once', async () => {
        const { registry, fake } = registryWith({}, {}, 100);
        fake('ollama').healthMs = 300;
        await registry.health.probeDue(1000);
        clock.advance(700); // the round took 300 ms; the next tick comes one interval after its start
        await registry.health.probeDue(1000);
        assert.equal(fake('ollama').healthCalls, 2);
        fake('ollama').hang = true;
        clock.advance(1000);
        const slow = registry.health.probeDue(1000);
        await registry.health.probeDue(1000);
        assert.equal(fake('ollama').healthCalls, 3, 'the hanging probe is not started again');
        await slow;
      });

      it('never waits longer than MAX_BACKOFF_MS between probes of a dead host', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('gpu-box').down = new ProviderError('unreachable', 'gone');
        for (let i = 0; i < 12; i++) {
          await registry.health.probeDue(60_000);
          clock.advance(MAX_BACKOFF_MS);
        }
        assert.ok(fake('gpu-box').healthCalls >= 10, `probed ${fake('gpu-box').healthCalls} times in 12 max-backoff periods`);
      });

      it('applies a new probe deadline from a reloaded config', async () => {
        const { registry, fake } = registryWith({}, {}, 5000);
        fake('ollama').hang = true;
        registry.health.setProbeTimeout(30);
        const ollama = byName(await registry.health.probeAll()).get('ollama');
        assert.equal(ollama?.error, 'no answer within 30 ms from http://127.0.0.1:11434');
      });

      it('keeps the health of unchanged hosts across setHosts, resets changed ones', async () => {
        const { registry } = registryWith({}, GPU_BOX);
        await registry.health.probeAll();
        registry.health.setHosts(defineHosts({}, config({ hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://elsewhere:11434' } } })));
        const statuses = byName(registry.health.statuses());
        assert.equal(statuses.get('ollama')?.health, 'up');
        assert.equal(statuses.get('gpu-box')?.error, 'not checked yet');
        assert.equal(statuses.get('gpu-box')?.baseUrl, 'http://elsewhere:11434');
      });
    });

    describe('listModels', () => {
      it('lists every model of every callable host, with failures beside them', async () => {
        const { registry, fake } = registryWith({}, { hosts: { ...GPU_BOX.hosts, dead: { provider: 'ollama', baseUrl: 'http://dead:1' } } });
        fake('gpu-box').models = [{ id: 'big:70b', contextWindow: 32768 }];
        fake('dead').down = new ProviderError('unreachable', 'nothing at http://dead:1');
        const result = await registry.catalog.listModels();
        assert.deepEqual(result.models, [
          { ref: 'ollama/llama3.2:latest', host: 'ollama', provider: 'ollama', model: 'llama3.2:latest', kind: 'chat', price: 'free' },
          { ref: 'ollama/qwen2.5-coder:7b', host: 'ollama', provider: 'ollama', model: 'qwen2.5-coder:7b', kind: 'chat', price: 'free' },
          { ref: 'gpu-box/big:70b', host: 'gpu-box', provider: 'ollama', model: 'big:70b', kind: 'chat', contextWindow: 32768, price: 'free' },
        ]);
        assert.deepEqual(result.failures, [{ host: 'dead', error: 'nothing at http://dead:1' }]);
        assert.deepEqual(
          (await registry.catalog.listModels('gpu-box')).models.map((m) => m.ref),
          ['gpu-box/big:70b'],
        );
      });

      it('explains a host it cannot list, and an unknown host name', async () => {
        const { registry } = registryWith({});
        assert.deepEqual(await registry.catalog.listModels('anthropic'), {
          models: [],
          failures: [{ host: 'anthropic', error: 'set ANTHROPIC_API_KEY' }],
          stale: [],
        });
        const error = await rejectsWith(
          registry.catalog.listModels('nope'),
          ErrorCodes.NotFound,
          /no host named 'nope'; known hosts: anthropic, openai, gemini, openrouter, ollama/,
        );
        assert.deepEqual(error.data, { what: 'host', id: 'nope' });
      });
    });

    describe('discovery cache (stale-while-revalidate)', () => {
      /** What lmdb would hold: survives the registry, as the database survives a restart. */
      class MapStore implements ListStore {
        readonly rows = new Map<string, CachedList>();
        get(key: string): CachedList | undefined {
          return this.rows.get(key);
        }
        put(key: string, value: CachedList): Promise<void> {
          this.rows.set(key, structuredClone(value));
          return Promise.resolve();
        }
        remove(key: string): Promise<void> {
          this.rows.delete(key);
          return Promise.resolve();
        }
      }
      const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

      it('serves a fresh list without asking the host, an old one at once while refreshing it behind', async () => {
        const { registry, fake } = registryWith({});
        await registry.catalog.listModels('ollama');
        assert.equal(fake('ollama').listCalls, 1);
        clock.advance(30_000);
        const fresh = await registry.catalog.listModels('ollama');
        assert.equal(fake('ollama').listCalls, 1, 'a list younger than a minute is served as is');
        assert.deepEqual(fresh.stale, []);
        fake('ollama').models = [{ id: 'new:1b' }];
        clock.advance(40_000);
        const old = await registry.catalog.listModels('ollama');
        assert.deepEqual(
          old.models.map((m) => m.model),
          ['llama3.2:latest', 'qwen2.5-coder:7b'],
          'the old list answers at once',
        );
        assert.deepEqual(old.stale, [{ host: 'ollama', ageMs: 70_000 }]);
        await settle();
        assert.equal(fake('ollama').listCalls, 2, 'and one background refresh ran');
        assert.deepEqual(
          (await registry.catalog.listModels('ollama')).models.map((m) => m.model),
          ['new:1b'],
        );
      });

      it('--refresh asks the host now; a host that fails keeps its last list, with the age and the error', async () => {
        const { registry, fake } = registryWith({});
        await registry.catalog.listModels();
        fake('ollama').models = [{ id: 'pulled:7b' }];
        assert.deepEqual(
          (await registry.catalog.listModels(undefined, true)).models.map((m) => m.model),
          ['pulled:7b'],
        );
        clock.advance(5000);
        fake('ollama').down = new ProviderError('unreachable', 'Ollama is not running at http://127.0.0.1:11434');
        const result = await registry.catalog.listModels(undefined, true);
        assert.deepEqual(
          result.models.map((m) => m.model),
          ['pulled:7b'],
        );
        assert.deepEqual(result.failures, []);
        assert.deepEqual(result.stale, [{ host: 'ollama', ageMs: 5000, error: 'Ollama is not running at http://127.0.0.1:11434' }]);
      });

      it('never waits on a hanging host longer than the probe deadline when it has nothing cached', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX, 50);
        fake('gpu-box').hang = true;
        const result = await registry.catalog.listModels();
        assert.deepEqual(
          result.models.map((m) => m.host),
          ['ollama', 'ollama'],
        );
        assert.deepEqual(result.failures, [{ host: 'gpu-box', error: 'no answer within 50 ms from http://gpu:11434' }]);
      });

      it('persists lists, so a new registry (a restarted daemon) answers from them with the host down', async () => {
        const store = new MapStore();
        const first = registryWith({}, {}, 2000, new DiscoveryCache(store));
        await first.registry.catalog.listModels();
        assert.ok(store.rows.has('ollama'));
        clock.advance(3_600_000);
        const second = registryWith({}, {}, 2000, new DiscoveryCache(store));
        second.fake('ollama').down = new ProviderError('unreachable', 'Ollama is not running');
        const result = await second.registry.catalog.listModels();
        assert.deepEqual(
          result.models.map((m) => m.model),
          ['llama3.2:latest', 'qwen2.5-coder:7b'],
        );
        assert.deepEqual(result.stale, [{ host: 'ollama', ageMs: 3_600_000 }]);
        await settle();
        assert.equal(second.fake('ollama').listCalls, 1, 'the refresh was tried in the background');
      });

      it('ignores a list fetched from another base URL, and forgets a host on invalidate', async () => {
        const store = new MapStore();
        const first = registryWith({}, {}, 2000, new DiscoveryCache(store));
        await first.registry.catalog.listModels();
        const moved = registryWith({ OLLAMA_HOST: 'elsewhere:11434' }, {}, 2000, new DiscoveryCache(store));
        moved.fake('ollama').models = [{ id: 'other:1b' }];
        assert.deepEqual(
          (await moved.registry.catalog.listModels()).models.map((m) => m.model),
          ['other:1b'],
        );
        await moved.registry.catalog.invalidateModels('ollama');
        assert.equal(store.rows.has('ollama'), false);
        moved.fake('ollama').models = [{ id: 'after-rm:1b' }];
        assert.deepEqual(
          (await moved.registry.catalog.listModels()).models.map((m) => m.model),
          ['after-rm:1b'],
        );
      });

      it('a refresh that was already running when the list was invalidated does not bring the old list back', async () => {
        const { registry, fake } = registryWith({});
        await registry.catalog.listModels();
        clock.advance(120_000);
        let open = (): void => undefined;
        fake('ollama').listGate = new Promise((resolve) => (open = resolve));
        await registry.catalog.listModels(); // old list served, refresh started (and held at the gate)
        await registry.catalog.invalidateModels('ollama'); // e.g. `aic rm llama3.2`
        fake('ollama').models = [{ id: 'qwen2.5-coder:7b' }];
        fake('ollama').listGate = undefined;
        open();
        await settle();
        await settle();
        assert.deepEqual(
          (await registry.catalog.listModels()).models.map((m) => m.model),
          ['qwen2.5-coder:7b'],
        );
      });

      it('a bare model in no cached list is looked for once more on every host before it is refused', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        await registry.catalog.listModels();
        fake('gpu-box').models = [{ id: 'pulled-outside:7b' }];
        assert.equal((await registry.router.resolve('pulled-outside:7b', undefined)).ref, 'gpu-box/pulled-outside:7b');
      });

      it('a cancelled request stops waiting on a host it is listing', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX, 60_000);
        fake('gpu-box').hang = true;
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(), 20);
        await assert.rejects(registry.router.route('anything', undefined, controller.signal));
        assert.ok(Date.now() - started < 5000, 'not the 60 s probe deadline');
      });

      it('a model missing from the cached list is looked up once more before the request is refused', async () => {
        const { registry, fake } = registryWith({});
        await registry.catalog.listModels();
        fake('ollama').models = [{ id: 'llama3.2:latest' }, { id: 'fresh:3b' }];
        const resolved = await registry.router.resolve('ollama/fresh:3b', undefined);
        assert.equal(resolved.ref, 'ollama/fresh:3b');
      });
    });

    describe('resolve', () => {
      it('HOST/MODEL picks that host; a tag-less name matches :latest', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('gpu-box').models = [{ id: 'llama3.2:latest' }];
        const resolved = await registry.router.resolve('gpu-box/llama3.2', undefined);
        assert.equal(resolved.ref, 'gpu-box/llama3.2:latest');
        assert.equal(resolved.model, 'llama3.2:latest');
        assert.equal(resolved.host.name, 'gpu-box');
        assert.equal(resolved.adapter, fake('gpu-box'));
        assert.equal(fake('ollama').listCalls, 0, 'the other host is not asked');
      });

      it('splits only at the first slash, and only when the prefix is a host', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('gpu-box').models = [{ id: 'meta-llama/llama-3.3-70b-instruct' }];
        assert.equal((await registry.router.resolve('gpu-box/meta-llama/llama-3.3-70b-instruct', undefined)).model, 'meta-llama/llama-3.3-70b-instruct');
        // 'meta-llama' is no host: the whole string is a model id, found wherever it is served.
        const bare = await registry.router.resolve('meta-llama/llama-3.3-70b-instruct', undefined);
        assert.equal(bare.ref, 'gpu-box/meta-llama/llama-3.3-70b-instruct');
        assert.equal(bare.host.name, 'gpu-box');
      });

      it('routes a bare model to a host that is up before one whose probe failed', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('ollama').models = [{ id: 'shared:latest' }];
        fake('gpu-box').models = [{ id: 'shared:latest' }];
        await registry.health.probeAll();
        assert.equal((await registry.router.resolve('shared', undefined)).host.name, 'ollama', 'both up: host order');
        fake('ollama').healthFails = new ProviderError('timeout', 'slow');
        await registry.health.probeAll();
        assert.equal((await registry.router.resolve('shared', undefined)).host.name, 'gpu-box', 'the up host first');
        fake('gpu-box').down = new ProviderError('unreachable', 'gone');
        await registry.health.probeAll();
        assert.equal((await registry.router.resolve('shared', undefined)).host.name, 'ollama', 'both down: host order, still tried');
      });

      it('does not ask a host the health check found down (and has no list of) on every request', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX, 50);
        fake('gpu-box').hang = true;
        await registry.health.probeAll();
        const calls = fake('gpu-box').listCalls;
        assert.equal((await registry.router.resolve('llama3.2', undefined)).ref, 'ollama/llama3.2:latest');
        assert.equal(fake('gpu-box').listCalls, calls, 'the hanging host was not asked');
        fake('gpu-box').hang = false;
        await registry.health.probeAll();
        fake('gpu-box').models = [{ id: 'only-here:1b' }];
        assert.equal((await registry.router.resolve('only-here:1b', undefined)).ref, 'gpu-box/only-here:1b', 'back up: asked again');
      });

      it('ranks hosts serving a bare model: healthy first, then free, then by listed price, unpriced last', async () => {
        const adapters = new Map<string, ScriptedAdapter>();
        const registry = new HostRegistry({
          createAdapter: (host) => {
            const adapter = new ScriptedAdapter(host.baseUrl, clock);
            adapter.models = [{ id: 'shared-model' }];
            adapters.set(host.name, adapter);
            return adapter;
          },
          logger,
          probeTimeoutMs: 2000,
          now: clock.now,
        });
        registry.health.setHosts(
          defineHosts(
            { OPENAI_API_KEY: 'k', OPENROUTER_API_KEY: 'k' },
            config({
              hosts: { 'or-cheap': { provider: 'openrouter', baseUrl: 'http://cheap' }, 'or-dear': { provider: 'openrouter', baseUrl: 'http://dear' } },
            }),
          ),
        );
        const priced = (name: string, input: number): void => {
          (adapters.get(name) as ScriptedAdapter).models = [{ id: 'shared-model', price: { inputPerMTok: input, outputPerMTok: input * 4 } }];
        };
        priced('openrouter', 3);
        priced('or-cheap', 0.1);
        priced('or-dear', 15);
        await registry.health.probeAll();
        const order = async (): Promise<string[]> => (await registry.router.route('shared-model', undefined)).map((r) => r.host.name);
        assert.deepEqual(await order(), ['ollama', 'or-cheap', 'openrouter', 'or-dear', 'openai']);
        (adapters.get('ollama') as ScriptedAdapter).healthFails = new ProviderError('timeout', 'slow');
        await registry.health.probeAll();
        assert.deepEqual(await order(), ['or-cheap', 'openrouter', 'or-dear', 'openai', 'ollama'], 'a host that failed its probe goes last, still tried');
      });

      it('uses the configured default model, unless a model is given', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('gpu-box').models = [{ id: 'big:70b' }];
        assert.equal((await registry.router.resolve(undefined, 'gpu-box/big:70b')).ref, 'gpu-box/big:70b');
        assert.equal((await registry.router.resolve('  ', 'big:70b')).ref, 'gpu-box/big:70b');
        assert.equal((await registry.router.resolve('ollama/qwen2.5-coder:7b', 'gpu-box/big:70b')).ref, 'ollama/qwen2.5-coder:7b');
      });

      it('without any model, takes the first model of the first healthy host', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('gpu-box').models = [{ id: 'big:70b' }, { id: 'small:1b' }];
        await registry.health.probeAll();
        assert.equal((await registry.router.resolve(undefined, undefined)).ref, 'ollama/llama3.2:latest');
        fake('ollama').down = new ProviderError('unreachable', 'gone');
        await registry.health.probeAll();
        assert.equal((await registry.router.resolve(undefined, undefined)).ref, 'gpu-box/big:70b');
        fake('ollama').down = undefined;
        fake('ollama').models = [];
        await registry.health.probeAll();
        await registry.catalog.listModels(undefined, true);
        assert.equal((await registry.router.resolve(undefined, undefined)).ref, 'gpu-box/big:70b', 'a host without models is skipped');
      });

      it('an unknown model is -33001 with the closest names and, on Ollama, the pull command', async () => {
        const { registry } = registryWith({}, GPU_BOX);
        assert.equal(ErrorCodes.UnknownModel, -33001);
        const onHost = await rejectsWith(registry.router.resolve('ollama/llama3.3', undefined), -33001);
        assert.equal(onHost.message, "model 'llama3.3' is not available on host ollama — run `aic pull llama3.3`; closest: llama3.2:latest");
        assert.deepEqual(onHost.data, { ref: 'ollama/llama3.3', suggestions: ['llama3.2:latest'] });
        const bare = await rejectsWith(registry.router.resolve('qwen2.5-coder:14b', undefined), -33001);
        assert.match(bare.message, /^no host serves a model named 'qwen2\.5-coder:14b'; closest: (ollama|gpu-box)\/qwen2\.5-coder:7b.* \(see `aic models`\)$/);
        assert.match((bare.data as { suggestions: string[] }).suggestions[0] ?? '', /^(ollama|gpu-box)\/qwen2\.5-coder:7b$/);
        const none = await rejectsWith(registry.router.resolve('nothing-like-it-at-all', undefined), -33001);
        assert.deepEqual(none.data, { ref: 'nothing-like-it-at-all', suggestions: [] });
      });

      it('a named host that cannot serve is -33002 with its reason', async () => {
        const { registry, fake } = registryWith({ OPENAI_API_KEY: 'sk-test-123456' });
        assert.equal(ErrorCodes.NoUsableHost, -33002);
        await rejectsWith(registry.router.resolve('anthropic/claude-sonnet-4', undefined), -33002, /^host 'anthropic' is not usable: set ANTHROPIC_API_KEY$/);
        await rejectsWith(registry.router.resolve('openai/gpt-5', undefined), -33002, /openai is not supported by this build/);
        fake('ollama').down = new ProviderError('unreachable', 'Ollama is not running at http://127.0.0.1:11434');
        const down = await rejectsWith(registry.router.resolve('ollama/llama3.2', undefined), -33002, /^Ollama is not running/);
        assert.deepEqual(down.data, { host: 'ollama' });
      });

      it('with no callable host at all, -33002 says how to configure one', async () => {
        const registry = new HostRegistry({ createAdapter: () => undefined, logger, probeTimeoutMs: 50 });
        registry.health.setHosts(defineHosts({}, config()));
        for (const ref of [undefined, 'llama3.2']) {
          const error = await rejectsWith(registry.router.resolve(ref, undefined), -33002);
          assert.equal(error.message, `no model host is usable\n${NO_HOST_HINT}`);
          assert.deepEqual(error.data, {
            hint: NO_HOST_HINT,
            keyEnv: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'OPENROUTER_API_KEY'],
          });
          assert.match(error.message, /ollama serve[\s\S]*ANTHROPIC_API_KEY[\s\S]*OPENAI_API_KEY[\s\S]*GEMINI_API_KEY[\s\S]*OPENROUTER_API_KEY/);
        }
      });

      it('when every callable host is down, -33002 gives each reason, then the hint', async () => {
        const { registry, fake } = registryWith({}, GPU_BOX);
        fake('ollama').down = new ProviderError('unreachable', 'nothing at http://127.0.0.1:11434');
        fake('gpu-box').down = new ProviderError('unreachable', 'nothing at http://gpu:11434');
        const byDefault = await rejectsWith(registry.router.resolve(undefined, undefined), -33002);
        assert.equal(byDefault.message, `no model host is usable:\n  - nothing at http://127.0.0.1:11434\n  - nothing at http://gpu:11434\n${NO_HOST_HINT}`);
        await rejectsWith(
          registry.router.resolve('llama3.2', undefined),
          -33002,
          /^no host could serve 'llama3\.2':\n {2}nothing at http:\/\/127\.0\.0\.1:11434\n {2}nothing at http:\/\/gpu:11434$/,
        );
      });
    });
  });
});

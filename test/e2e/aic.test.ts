import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AIC_BIN, aic, isAlive, makeSandbox, readPackageVersion, socketAnswers, SandboxPool, type Sandbox } from '../helpers/daemon';
import { ChatWireTap } from '../helpers/e2e-wire-tap';
import { PROTOCOL_VERSION } from '../../protocol/version';

/** A version no real Ollama reports, so seeing it proves the value came from the simulator. */
const SIM_VERSION = '0.12.6-sim';

interface DoneLine {
  type: 'done';
  ref: string;
  sessionId: string;
  usage: Record<string, number>;
  costUsd: number | null;
  latencyMs: number;
  ttftMs: number | null;
}

function jsonLines(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string });
}

function lockPid(s: Sandbox): number {
  return Number.parseInt(fs.readFileSync(`${s.socket}.lock`, 'utf8'), 10);
}

describe('aic as a user types it', function () {
  this.timeout(30000);
  let sim: OllamaSimulator;
  const pool = new SandboxPool();
  const sandbox = (options?: Parameters<typeof makeSandbox>[0]): Sandbox => pool.make(options);
  const taps: ChatWireTap[] = [];
  const tap = (onLine?: ConstructorParameters<typeof ChatWireTap>[1]): ChatWireTap => {
    const t = new ChatWireTap(sim.url, onLine);
    taps.push(t);
    return t;
  };
  beforeEach(async () => {
    sim = new OllamaSimulator({ version: SIM_VERSION });
    await sim.start();
  });
  afterEach(async () => {
    for (const t of taps.splice(0)) t.close();
    await pool.teardownAll();
    await sim.stop();
  });

  it('starts the daemon on first use and reports status in the contract shape', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    assert.ok(!fs.existsSync(s.socket));
    const human = await aic(['status'], s);
    assert.equal(human.code, 0, human.stderr);
    const pid = lockPid(s);
    assert.ok(isAlive(pid), 'the started daemon outlives the aic that started it');
    assert.ok(await socketAnswers(s.socket), 'and answers on its socket');
    assert.ok(human.stdout.includes(`aid ${readPackageVersion()} (protocol ${PROTOCOL_VERSION}), pid ${pid}, up `), human.stdout);
    assert.ok(human.stdout.includes(`socket  ${s.socket}`), human.stdout);
    assert.match(human.stdout, /^HOST\s+PROVIDER\s+HEALTH/m);
    assert.match(human.stdout, /^ollama\s+ollama\s+up\s/m);
    assert.match(human.stdout, /^anthropic\s+anthropic\s+unconfigured\s/m);

    const json = await aic(['status', '--json'], s);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(status.version, readPackageVersion());
    assert.equal(status.protocolVersion, PROTOCOL_VERSION);
    assert.equal(status.pid, pid, 'the same daemon answers the second command');
    assert.equal(typeof status.uptimeMs, 'number');
    assert.equal(status.socket, s.socket);
    const hosts = status.hosts as Record<string, unknown>[];
    assert.deepEqual(
      hosts.map((h) => h.name),
      ['anthropic', 'openai', 'gemini', 'openrouter', 'ollama'],
    );
    for (const host of hosts)
      for (const key of ['name', 'provider', 'baseUrl', 'health']) assert.equal(typeof host[key], 'string', `${String(host.name)}.${key}`);
    assert.equal(hosts.find((h) => h.name === 'anthropic')?.health, 'unconfigured');
    const ollama = hosts.find((h) => h.name === 'ollama');
    assert.equal(ollama?.provider, 'ollama');
    assert.equal(ollama?.baseUrl, sim.url);
    assert.equal(ollama?.health, 'up');
  });

  it('with AID_NO_AUTOSTART=1 and no daemon: exit 5, says how to start one, starts nothing', async () => {
    const s = sandbox();
    const result = await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } });
    assert.equal(result.code, 5);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /aid start/);
    assert.ok(!fs.existsSync(s.socket), 'no socket');
    assert.ok(!fs.existsSync(`${s.socket}.lock`), 'no daemon took the lock');
  });

  it('answers --version and --help without a daemon', async () => {
    const s = sandbox();
    const creatable = path.join(s.dir, 'elsewhere', 'aid.sock');
    for (const socket of [s.socket, creatable, '/nonexistent/dir/aid.sock', 'not a path at all']) {
      for (const args of [['--version'], ['--help'], ['ask', '--help']]) {
        const result = await aic(args, s, { env: { AID_SOCKET: socket } });
        assert.equal(result.code, 0, `${args.join(' ')} with ${socket}: ${result.stderr}`);
        assert.equal(result.stderr, '');
      }
    }
    assert.equal((await aic(['--version'], s)).stdout, `aic ${readPackageVersion()}\n`);
    assert.match((await aic(['--help'], s)).stdout, /Usage: aic/);
    assert.ok(!fs.existsSync(s.socket), 'no socket at the sandbox path');
    assert.ok(!fs.existsSync(path.dirname(creatable)), 'nothing created at the other path');
    assert.ok(!fs.existsSync(`${s.socket}.lock`), 'no daemon took the lock');
  });

  it('lists the Ollama host health and models, free', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const hosts = JSON.parse((await aic(['hosts', '--json'], s)).stdout) as { name: string; health: string; version?: string; latencyMs?: number }[];
    const ollama = hosts.find((h) => h.name === 'ollama');
    assert.equal(ollama?.health, 'up');
    assert.equal(ollama?.version, SIM_VERSION);
    assert.equal(typeof ollama?.latencyMs, 'number');
    assert.ok(sim.requests.some((r) => r.path === '/api/version'));
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string; host: string; provider: string; model: string; price: unknown }[];
    assert.deepEqual(models, [
      { ref: 'ollama/llama3.2:latest', host: 'ollama', provider: 'ollama', model: 'llama3.2:latest', kind: 'chat', contextWindow: 131072, price: 'free' },
      { ref: 'ollama/qwen2.5-coder:7b', host: 'ollama', provider: 'ollama', model: 'qwen2.5-coder:7b', kind: 'chat', contextWindow: 32768, price: 'free' },
    ]);
    const table = await aic(['models'], s);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ollama\/llama3\.2:latest\s+131k\s.*\bfree\b/m);
    assert.match(table.stdout, /^ollama\/qwen2\.5-coder:7b\s.*\bfree\b/m);
    assert.ok(sim.requests.some((r) => r.path === '/api/tags'));
  });

  it('streams an answer, then a usage summary on stderr', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const result = await aic(['ask', '-m', 'ollama/llama3.2', 'hello world'], s);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: hello world\n');
    assert.match(result.stderr, /^ollama\/llama3\.2:latest · 6 in \/ 3 out tokens · free · /);
    const chat = sim.requests.find((r) => r.path === '/api/chat');
    assert.deepEqual((chat?.body as { messages: unknown }).messages, [{ role: 'user', content: 'hello world' }]);
  });

  it('--json gives delta lines and a done line with the contract fields', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const wire = tap();
    // Paced tokens: chunks arriving in one network read are sent on as one delta.
    sim.setTokenDelay(20);
    const result = await aic(['ask', '--json', '-m', 'ollama/llama3.2', 'one two three'], s);
    assert.equal(result.code, 0, result.stderr);
    const [final] = wire.doneLines();
    assert.equal(typeof final?.prompt_eval_count, 'number');
    const lines = jsonLines(result.stdout);
    const deltas = lines.filter((l) => l.type === 'delta').map((l) => l.text as string);
    assert.equal(deltas.join(''), 'Echo: one two three');
    assert.ok(deltas.length >= 2, 'answer arrives in several deltas');
    const done = lines.at(-1) as unknown as DoneLine;
    assert.equal(done.type, 'done');
    assert.equal(done.ref, 'ollama/llama3.2:latest');
    assert.ok((done.usage.outputTokens ?? 0) > 0);
    assert.deepEqual(done.usage, {
      inputTokens: final?.prompt_eval_count,
      outputTokens: final?.eval_count,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    assert.equal(done.costUsd, 0);
    assert.equal(typeof done.latencyMs, 'number');
    assert.equal(typeof done.ttftMs, 'number');
    assert.match(done.sessionId, /^[0-9a-f-]{36}$/);
  });

  it('prints text as it arrives, before the provider has finished', async () => {
    sim.setTokenDelay(100);
    const s = sandbox({ ollamaUrl: sim.url });
    assert.equal((await aic(['status'], s)).code, 0);
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`);
    // The order things happen in, not how long they take.
    const events: string[] = [];
    tap((line) => {
      if (line.done === true) events.push('simulator wrote done');
    });
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'ollama/llama3.2', words.join(' ')], {
      env: s.env,
      cwd: s.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let atFirstData = '';
    child.stdout.on('data', (d: Buffer) => {
      if (!stdout) {
        events.push('first stdout data');
        atFirstData = d.toString();
      }
      stdout += d.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.on('exit', () => events.push('aic exited'));
    assert.equal(await closed, 0);
    assert.equal(stdout, `Echo: ${words.join(' ')}\n`);
    assert.deepEqual(events, ['first stdout data', 'simulator wrote done', 'aic exited']);
    assert.ok(!atFirstData.includes(words.at(-1) as string), `the first write was not the whole answer: ${atFirstData}`);
  });

  it('reads the prompt from stdin when piped', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const echoed = await aic(['ask', '-m', 'ollama/llama3.2'], s, { input: 'question\n' });
    assert.equal(echoed.code, 0, echoed.stderr);
    const chat = sim.requests.find((r) => r.path === '/api/chat');
    assert.deepEqual((chat?.body as { model: string; messages: unknown }).messages, [{ role: 'user', content: 'question' }]);
    assert.equal((chat?.body as { model: string }).model, 'llama3.2:latest');
    assert.equal(echoed.stdout, 'Echo: question\n');
    const result = await aic(['ask', '-m', 'ollama/qwen2.5-coder:7b'], s, { input: 'what does this do?\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: what does this do?\n');
    const both = await aic(['ask', '-m', 'ollama/qwen2.5-coder:7b', 'review:'], s, { input: 'const x = 1;' });
    assert.equal(both.stdout, 'Echo: review:\n\nconst x = 1;\n');
  });

  it('Ollama down: exit 3 with how to start it, and the daemon stays up', async () => {
    const closedUrl = sim.url;
    await sim.stop();
    const s = sandbox({ ollamaUrl: closedUrl });
    const result = await aic(['ask', '-m', 'ollama/llama3.2', 'hi'], s);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`Ollama is not running at ${closedUrl}`), result.stderr);
    assert.match(result.stderr, /— start it with `ollama serve`/);
    const pid = lockPid(s);
    const bare = await aic(['ask', 'hi'], s);
    assert.equal(bare.code, 3);
    assert.match(bare.stderr, /no model host is usable/);
    for (const what of ['ollama serve', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY'])
      assert.ok(bare.stderr.includes(what), what);
    const after = await aic(['status', '--json'], s, { env: { AID_NO_AUTOSTART: '1' } });
    assert.equal(after.code, 0, after.stderr);
    assert.equal((JSON.parse(after.stdout) as { pid: number }).pid, pid, 'the same daemon is still serving');
    assert.ok(isAlive(pid));
  });

  it('unknown models: exit 3 with the pull command or the closest names', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const missing = await aic(['ask', '-m', 'ollama/nope', 'hi'], s);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /aic pull nope/);
    const typo = await aic(['ask', '-m', 'ollama/llama3.3', 'hi'], s);
    assert.equal(typo.code, 3);
    assert.match(typo.stderr, /closest: llama3\.2:latest/);
    const bare = await aic(['ask', '-m', 'qwen2.5-coder:8b', 'hi'], s);
    assert.equal(bare.code, 3);
    assert.match(bare.stderr, /closest: ollama\/qwen2\.5-coder:7b/);
  });

  it('provider errors: the status before any text, the partial text kept after', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    // A 500 is retried twice (after 0.5 s and 1 s), each retry announced; the third failure is final.
    sim.failNext(500, 'CUDA error: out of memory', 3);
    const failed = await aic(['ask', '-m', 'ollama/llama3.2', 'hi'], s);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr.match(/retrying in/g)?.length, 2, failed.stderr);
    assert.match(failed.stderr, /aic: Ollama at http:\/\/127\.0\.0\.1:\d+ answered 500: CUDA error: out of memory\n/);
    sim.failMidStream('model runner crashed', 2);
    const partial = await aic(['ask', '-m', 'ollama/llama3.2', 'one two three four'], s);
    assert.equal(partial.code, 1);
    assert.equal(partial.stdout, 'Echo: one\n');
    assert.match(partial.stderr, /model runner crashed.*after 9 characters/);
  });

  it('usage errors exit 2', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    assert.equal((await aic(['ask'], s)).code, 2);
    assert.equal((await aic(['frobnicate'], s)).code, 2);
    assert.equal((await aic(['ask', '--session', 'x', '--new', 'hi'], s)).code, 2);
    assert.equal((await aic(['ask', '--bogus', 'hi'], s)).code, 2);
    assert.equal((await aic(['ask', '--max-cost', 'lots', 'hi'], s)).code, 2);
  });
});

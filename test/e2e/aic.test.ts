import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AIC_BIN, aic, isAlive, makeSandbox, teardown, waitFor, type Sandbox } from '../helpers/daemon';

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
  const sandboxes: Sandbox[] = [];
  const sandbox = (options?: Parameters<typeof makeSandbox>[0]): Sandbox => {
    const s = makeSandbox(options);
    sandboxes.push(s);
    return s;
  };
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
  });
  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((s) => teardown(s)));
    await sim.stop();
  });

  it('starts the daemon on first use and reports status in the contract shape', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    assert.ok(!fs.existsSync(s.socket));
    const human = await aic(['status'], s);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /aid \d+\.\d+\.\d+ \(protocol 1\), pid \d+/);
    assert.ok(isAlive(lockPid(s)));
    const status = JSON.parse((await aic(['status', '--json'], s)).stdout) as Record<string, unknown>;
    for (const key of ['version', 'protocolVersion', 'pid', 'uptimeMs', 'socket', 'hosts']) assert.ok(key in status, key);
    const hosts = status.hosts as { name: string; provider: string; baseUrl: string; health: string }[];
    assert.deepEqual(hosts.map((h) => h.name), ['anthropic', 'openai', 'gemini', 'openrouter', 'ollama']);
    assert.equal(hosts.find((h) => h.name === 'anthropic')?.health, 'unconfigured');
  });

  it('with AID_NO_AUTOSTART=1 and no daemon: exit 5, says how to start one, starts nothing', async () => {
    const s = sandbox();
    const result = await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } });
    assert.equal(result.code, 5);
    assert.match(result.stderr, /aid start/);
    assert.ok(!fs.existsSync(s.socket));
  });

  it('answers --version and --help without a daemon', async () => {
    const s = sandbox();
    for (const args of [['--version'], ['--help'], ['ask', '--help']]) {
      const result = await aic(args, s, { env: { AID_SOCKET: '/nonexistent/dir/aid.sock' } });
      assert.equal(result.code, 0);
    }
    assert.match((await aic(['--version'], s)).stdout, /^aic \d+\.\d+\.\d+/);
    assert.match((await aic(['--help'], s)).stdout, /Usage: aic/);
    assert.ok(!fs.existsSync(s.socket));
  });

  it('lists the Ollama host health and models, free', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const hosts = JSON.parse((await aic(['hosts', '--json'], s)).stdout) as { name: string; health: string; version?: string; latencyMs?: number }[];
    const ollama = hosts.find((h) => h.name === 'ollama');
    assert.equal(ollama?.health, 'up');
    assert.equal(ollama?.version, '0.12.6');
    assert.equal(typeof ollama?.latencyMs, 'number');
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string; host: string; provider: string; model: string; price: unknown }[];
    assert.deepEqual(models, [
      { ref: 'ollama/llama3.2:latest', host: 'ollama', provider: 'ollama', model: 'llama3.2:latest', price: 'free' },
      { ref: 'ollama/qwen2.5-coder:7b', host: 'ollama', provider: 'ollama', model: 'qwen2.5-coder:7b', price: 'free' },
    ]);
    const table = await aic(['models'], s);
    assert.match(table.stdout, /ollama\/llama3\.2:latest\s+-\s+free/);
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
    const result = await aic(['ask', '--json', '-m', 'ollama/llama3.2', 'one two three'], s);
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    const deltas = lines.filter((l) => l.type === 'delta').map((l) => l.text as string);
    assert.equal(deltas.join(''), 'Echo: one two three');
    assert.ok(deltas.length >= 2, 'answer arrives in several deltas');
    const done = lines.at(-1) as unknown as DoneLine;
    assert.equal(done.type, 'done');
    assert.equal(done.ref, 'ollama/llama3.2:latest');
    assert.deepEqual(done.usage, { inputTokens: 7, outputTokens: deltas.length, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    assert.equal(done.costUsd, 0);
    assert.equal(typeof done.latencyMs, 'number');
    assert.equal(typeof done.ttftMs, 'number');
    assert.match(done.sessionId, /^[0-9a-f-]{36}$/);
  });

  it('prints text as it arrives, before the provider has finished', async () => {
    sim.setTokenDelay(100);
    const s = sandbox({ ollamaUrl: sim.url });
    await aic(['status'], s);
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'ollama/llama3.2', 'a b c d e f g h i j'], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let exited = false;
    child.on('exit', () => (exited = true));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => stdout.length > 0, 10000, () => 'first text on stdout');
    const chunksSentSoFar = sim.requests.filter((r) => r.path === '/api/chat').length;
    assert.equal(chunksSentSoFar, 1);
    assert.ok(!exited, 'text appeared while the answer was still streaming');
    assert.ok(!stdout.includes('j'), 'and before the last word');
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stdout, 'Echo: a b c d e f g h i j\n');
  });

  it('reads the prompt from stdin when piped', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const result = await aic(['ask', '-m', 'ollama/qwen2.5-coder:7b'], s, { input: 'what does this do?\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Echo: what does this do?\n');
    const both = await aic(['ask', '-m', 'ollama/qwen2.5-coder:7b', 'review:'], s, { input: 'const x = 1;' });
    assert.equal(both.stdout, 'Echo: review:\n\nconst x = 1;\n');
  });

  it('Ollama down: exit 3 with how to start it, and the daemon stays up', async () => {
    const s = sandbox({ ollamaUrl: 'http://127.0.0.1:59996' });
    const result = await aic(['ask', '-m', 'ollama/llama3.2', 'hi'], s);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /Ollama is not running at http:\/\/127\.0\.0\.1:59996 .*— start it with `ollama serve`/);
    const bare = await aic(['ask', 'hi'], s);
    assert.equal(bare.code, 3);
    assert.match(bare.stderr, /no model host is usable/);
    for (const what of ['ollama serve', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY']) assert.ok(bare.stderr.includes(what), what);
    assert.equal((await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } })).code, 0);
  });

  it('unknown models: exit 3 with the pull command or the closest names', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const missing = await aic(['ask', '-m', 'ollama/nope', 'hi'], s);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /ollama pull nope/);
    const typo = await aic(['ask', '-m', 'ollama/llama3.3', 'hi'], s);
    assert.equal(typo.code, 3);
    assert.match(typo.stderr, /closest: llama3\.2:latest/);
    const bare = await aic(['ask', '-m', 'qwen2.5-coder:8b', 'hi'], s);
    assert.equal(bare.code, 3);
    assert.match(bare.stderr, /closest: ollama\/qwen2\.5-coder:7b/);
  });

  it('provider errors: the status before any text, the partial text kept after', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    sim.failNext(500, 'CUDA error: out of memory');
    const failed = await aic(['ask', '-m', 'ollama/llama3.2', 'hi'], s);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /answered 500: CUDA error: out of memory/);
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

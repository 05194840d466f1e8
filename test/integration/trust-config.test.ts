import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { aic, aid, isAlive, waitFor, writeConfig, SandboxPool, type Sandbox } from '../helpers/daemon';

interface StatusJson {
  pid: number;
  hosts: { name: string; baseUrl: string; health: string; error?: string }[];
  config: { file: string; loaded: boolean; error?: string };
}

async function status(s: Sandbox): Promise<StatusJson> {
  const result = await aic(['status', '--json'], s);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as StatusJson;
}

/** Everything the daemon wrote in its state dir (log, output), for secret hunting. */
function stateFiles(s: Sandbox): string {
  if (!fs.existsSync(s.stateDir)) return '';
  return fs
    .readdirSync(s.stateDir)
    .map((f) => path.join(s.stateDir, f))
    .filter((f) => fs.statSync(f).isFile())
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
}

describe('trust: config URLs', function () {
  this.timeout(40000);
  let sim: OllamaSimulator;
  const pool = new SandboxPool();
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
  });
  afterEach(async () => {
    await pool.teardownAll();
    await sim.stop();
  });

  it('a URL typo in a hot-reloaded config is rejected with its key; the daemon stays up on the last good config', async () => {
    const s = pool.make({ ollamaUrl: sim.url, config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: sim.url } } } });
    assert.equal((await aid(['start'], s)).code, 0);
    const before = await status(s);
    writeConfig(s, { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: '127.0.0.2 11434' } } });
    await waitFor(
      async () => (await status(s)).config.error !== undefined,
      10000,
      () => 'the reload to be rejected',
    );
    const after = await status(s);
    assert.equal(after.pid, before.pid, 'the same daemon answers');
    assert.ok(isAlive(before.pid));
    assert.match(after.config.error ?? '', /hosts\.gpu-box\.baseUrl: "127\.0\.0\.2 11434" is not a URL/);
    assert.equal(after.hosts.find((h) => h.name === 'gpu-box')?.baseUrl, sim.url, 'the last good host set is kept');
    // A cloud host's URL must be http(s).
    writeConfig(s, { hosts: { corp: { provider: 'openai', baseUrl: 'ftp://127.0.0.2/v1' } } });
    await waitFor(
      async () => /hosts\.corp\.baseUrl: .*not an http or https URL/.test((await status(s)).config.error ?? ''),
      10000,
      () => 'the ftp URL to be rejected',
    );
    assert.equal((await status(s)).pid, before.pid);
  });

  it('aid start on a config with a bad URL names the key; a bad OLLAMA_HOST leaves that host unconfigured, not the daemon dead', async () => {
    const s = pool.make({ config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: '127.0.0.2 11434' } } } });
    const refused = await aid(['start'], s);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /hosts\.gpu-box\.baseUrl: "127\.0\.0\.2 11434" is not a URL/);
    assert.doesNotMatch(refused.stderr, /^aid: Invalid URL$/m);
    writeConfig(s, {});
    const started = await aid(['start'], s, { env: { OLLAMA_HOST: 'http://127.0.0.2 11434' } });
    assert.equal(started.code, 0, started.stderr);
    const ollama = (await status(s)).hosts.find((h) => h.name === 'ollama');
    assert.equal(ollama?.health, 'unconfigured');
    assert.match(ollama?.error ?? '', /^OLLAMA_HOST: .* is not a URL/);
  });

  it('credentials in a host URL are sent as Basic auth and never shown: status, hosts, errors and the log', async () => {
    const password = 'pw-Zq81xTT0kv';
    const url = new URL(sim.url);
    const withCredentials = `http://alice:${password}@${url.host}`;
    const s = pool.make({
      ollamaUrl: withCredentials,
      config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: `http://bob:${password}@127.0.0.1:9` } } },
    });
    assert.equal((await aid(['start'], s)).code, 0);
    await waitFor(
      async () => (await status(s)).hosts.find((h) => h.name === 'ollama')?.health === 'up',
      10000,
      () => 'ollama up',
    );
    const shown = [
      (await aic(['status', '--json'], s)).stdout,
      (await aic(['status'], s)).stdout,
      (await aic(['hosts', '--json'], s)).stdout,
      (await aic(['hosts'], s)).stdout,
    ];
    const json = JSON.parse(shown[0]) as StatusJson;
    assert.equal(json.hosts.find((h) => h.name === 'ollama')?.baseUrl, sim.url, 'shown without credentials');
    assert.equal(json.hosts.find((h) => h.name === 'gpu-box')?.baseUrl, 'http://127.0.0.1:9');
    // The unreachable host's error names its URL: without the password.
    await waitFor(
      async () => (await status(s)).hosts.find((h) => h.name === 'gpu-box')?.error !== 'not checked yet',
      10000,
      () => 'gpu-box probed',
    );
    const ask = await aic(['ask', '-m', 'gpu-box/llama3.2', '--no-context', 'hi'], s);
    assert.notEqual(ask.code, 0);
    for (const text of [...shown, ask.stdout, ask.stderr, stateFiles(s)]) assert.ok(!text.includes(password), `the password leaked: ${text.slice(0, 400)}`);
    const basic = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
    assert.ok(sim.requests.length > 0);
    assert.ok(
      sim.requests.every((r) => r.headers.authorization === basic),
      'every request to the host carries its credentials',
    );
  });
});

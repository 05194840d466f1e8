import { strict as assert } from 'node:assert';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { aic, makeSandbox, teardown, type Sandbox } from '../helpers/daemon';

describe('aic pull, rm and ps (Ollama model management)', function () {
  this.timeout(30000);
  let sim: OllamaSimulator;
  let s: Sandbox;
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
    s = makeSandbox({ ollamaUrl: sim.url, config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: sim.url } } } });
  });
  afterEach(async () => {
    await teardown(s);
    await sim.stop();
  });

  const refs = async (): Promise<string[]> => (JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string }[]).map((m) => m.ref);

  it('pulls with progress from /api/pull, after which the model is listed', async () => {
    const result = await aic(['pull', 'mistral'], s);
    assert.equal(result.code, 0, result.stderr);
    // Piped stderr: one line per stage, ending with the summary.
    assert.deepEqual(result.stderr.trim().split('\n'), [
      'pulling manifest',
      'pulling a80c4f17acd5',
      'verifying sha256 digest',
      'writing manifest',
      'success',
      'pulled mistral on ollama',
    ]);
    // ollama-js sends the model as `name` (Ollama's older field, still accepted).
    const body = sim.requests.find((r) => r.path === '/api/pull')?.body as { model?: string; name?: string; stream: boolean };
    assert.equal(body.model ?? body.name, 'mistral');
    assert.equal(body.stream, true);
    assert.ok((await refs()).includes('ollama/mistral:latest'));
  });

  it('--json streams progress objects with byte counts, then done', async () => {
    const result = await aic(['pull', '--json', 'mistral', '--host', 'gpu-box'], s);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; total?: number; completed?: number; host?: string });
    const bytes = lines.filter((l) => l.completed !== undefined);
    assert.ok(bytes.length >= 3);
    assert.ok(
      bytes.every((l, i) => i === 0 || (l.completed as number) > (bytes[i - 1]?.completed as number)),
      'completed grows',
    );
    assert.deepEqual(lines.at(-1), { type: 'done', host: 'gpu-box', model: 'mistral' });
  });

  it('an unknown model fails with exit 3 and says why', async () => {
    const result = await aic(['pull', 'nonesuch'], s);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /Ollama has no model named 'nonesuch' to pull/);
  });

  it('rm deletes a model, and says so when it is not there', async () => {
    assert.equal((await aic(['rm', 'qwen2.5-coder:7b'], s)).code, 0);
    assert.ok(!(await refs()).includes('ollama/qwen2.5-coder:7b'));
    const again = await aic(['rm', 'qwen2.5-coder:7b'], s);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /is not on host ollama/);
    const deleted = sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.body as { model?: string; name?: string });
    assert.deepEqual(
      deleted.map((b) => b.model ?? b.name),
      ['qwen2.5-coder:7b', 'qwen2.5-coder:7b'],
    );
  });

  it('ps lists models loaded on each Ollama host', async () => {
    const empty = await aic(['ps'], s);
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /no models loaded/);
    assert.equal((await aic(['ask', '-m', 'gpu-box/llama3.2', 'load it'], s)).code, 0);
    const loaded = JSON.parse((await aic(['ps', '--json', '--host', 'gpu-box'], s)).stdout) as {
      host: string;
      model: string;
      contextLength: number;
      vramBytes: number;
    }[];
    assert.deepEqual(
      loaded.map((m) => [m.host, m.model, m.contextLength]),
      [['gpu-box', 'llama3.2:latest', 131072]],
    );
    const table = await aic(['ps'], s);
    // Both hosts are the same simulator, so each reports the model.
    assert.match(table.stdout, /ollama\/llama3\.2:latest\s+2\.0 GB\s+100% GPU\s+131072/);
    assert.match(table.stdout, /gpu-box\/llama3\.2:latest/);
  });

  it('refuses hosts that keep no local models, and usage errors exit 2', async () => {
    const cloud = await aic(['pull', 'x', '--host', 'anthropic'], s);
    assert.equal(cloud.code, 2);
    assert.match(cloud.stderr, /provider anthropic\) keeps no local models/);
    assert.equal((await aic(['pull'], s)).code, 2);
    assert.equal((await aic(['rm', 'a', 'b'], s)).code, 2);
    const unknownHost = await aic(['ps', '--host', 'nope'], s);
    assert.equal(unknownHost.code, 1);
    assert.match(unknownHost.stderr, /no host named 'nope'/);
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudSimulator } from '../fakes/cloud-simulator';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { aic, aid, SandboxPool, type Sandbox } from '../helpers/daemon';

const OPENAI_KEY = 'sk-proj-trust-cli-key-000000000001';

interface BudgetRow {
  name: string;
  limitUsd: number;
  period: string;
  hard: boolean;
  alerts: number[];
  scope?: { kind: string; value: string };
}

interface DoneLine {
  type: string;
  ref?: string;
  sessionId?: string;
}

function lastLine(stdout: string): DoneLine {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as DoneLine;
}

describe('trust: what the user set stays set', function () {
  this.timeout(40000);
  const pool = new SandboxPool();
  const sims: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await pool.teardownAll();
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  async function openai(): Promise<CloudSimulator> {
    const sim = new CloudSimulator({ kind: 'openai', apiKey: OPENAI_KEY });
    sims.push(sim);
    await sim.start();
    return sim;
  }
  async function ollama(options: ConstructorParameters<typeof OllamaSimulator>[0] = {}): Promise<OllamaSimulator> {
    const sim = new OllamaSimulator(options);
    sims.push(sim);
    await sim.start();
    return sim;
  }
  function withBoth(o: OllamaSimulator, cloud: CloudSimulator): Sandbox {
    return pool.make({ ollamaUrl: o.url, env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: cloud.url } });
  }

  it('updating a budget changes only the options given; scopes that can never match are usage errors', async () => {
    const o = await ollama();
    const s = pool.make({ ollamaUrl: o.url });
    const created = await aic(['budget', 'set', 'daily', '--limit', '2', '--period', 'day', '--hard', '--alert', '50,100', '--scope', 'provider=openai'], s);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /created budget daily/);
    // The README's own advice: lower the limit. Nothing else may change.
    const lowered = await aic(['budget', 'set', 'daily', '--limit', '1'], s);
    assert.equal(lowered.code, 0, lowered.stderr);
    assert.match(lowered.stderr, /updated budget daily/);
    const [row] = JSON.parse((await aic(['budget', 'list', '--json'], s)).stdout) as BudgetRow[];
    assert.deepEqual(
      { limit: row?.limitUsd, period: row?.period, hard: row?.hard, alerts: row?.alerts, scope: row?.scope },
      { limit: 1, period: 'day', hard: true, alerts: [50, 100], scope: { kind: 'provider', value: 'openai' } },
    );
    // Turning it soft, or dropping its scope, is said explicitly.
    assert.equal((await aic(['budget', 'set', 'daily', '--soft', '--scope', 'all'], s)).code, 0);
    const [soft] = JSON.parse((await aic(['budget', 'list', '--json'], s)).stdout) as BudgetRow[];
    assert.equal(soft?.hard, false);
    assert.equal(soft?.scope, undefined);
    assert.equal(soft?.limitUsd, 1);
    // A new budget needs a limit.
    const noLimit = await aic(['budget', 'set', 'weekly', '--period', 'week'], s);
    assert.equal(noLimit.code, 2, noLimit.stderr);
    assert.match(noLimit.stderr, /does not exist yet: give it a limit/);
    for (const [scope, pattern] of [
      ['host=nope', /no host named 'nope'; known hosts: anthropic, openai, gemini, openrouter, ollama/],
      ['provider=typo', /no provider named 'typo'; providers: anthropic, openai, gemini, openrouter, ollama/],
    ] as const) {
      const refused = await aic(['budget', 'set', 'x', '--limit', '5', '--scope', scope], s);
      assert.equal(refused.code, 2, `${scope}: ${refused.stderr}`);
      assert.match(refused.stderr, pattern);
    }
    const unknownModel = await aic(['budget', 'set', 'x', '--limit', '5', '--scope', 'model=gpt-9-ultra'], s);
    assert.equal(unknownModel.code, 0, unknownModel.stderr);
    assert.match(unknownModel.stderr, /warning: no host lists a model named 'gpt-9-ultra' today/);
    for (const limit of ['Infinity', '-1', '0', 'NaN', '1e400']) {
      const bad = await aic(['budget', 'set', 'y', '--limit', limit], s);
      assert.equal(bad.code, 2, `--limit ${limit}: ${bad.stderr}`);
      assert.match(bad.stderr, /--limit .*: expected a positive number of USD/);
    }
    assert.deepEqual((JSON.parse((await aic(['budget', 'list', '--json'], s)).stdout) as BudgetRow[]).map((b) => b.name).sort(), ['daily', 'x']);
  });

  it('no -m prefers a healthy local model over a paid one; --session without -m keeps the session model', async () => {
    const o = await ollama();
    const cloud = await openai();
    const s = withBoth(o, cloud);
    const first = await aic(['ask', '--json', '--no-context', 'hello'], s);
    assert.equal(first.code, 0, first.stderr);
    assert.match(lastLine(first.stdout).ref ?? '', /^ollama\//, 'the default goes to the local host');
    assert.equal(cloud.chatCount(), 0, 'nothing went to the paid host');
    const paid = await aic(['ask', '--json', '--no-context', '--new', '-m', 'openai/gpt-4.1-mini', 'start here'], s);
    assert.equal(paid.code, 0, paid.stderr);
    const sessionId = lastLine(paid.stdout).sessionId ?? '';
    const followUp = await aic(['ask', '--json', '--no-context', '--session', sessionId.slice(0, 8), 'and then?'], s);
    assert.equal(followUp.code, 0, followUp.stderr);
    assert.equal(lastLine(followUp.stdout).ref, 'openai/gpt-4.1-mini', 'the session keeps its model');
    assert.equal(cloud.chatCount(), 2);
    const switched = await aic(['ask', '--json', '--no-context', '--session', sessionId, '-m', 'ollama/llama3.2', 'locally now'], s);
    assert.match(lastLine(switched.stdout).ref ?? '', /^ollama\/llama3\.2/);
  });

  it('embedding models are listed with their kind but never routed to, suggested or picked by default', async () => {
    // Listed first, as `ollama list` might: the default must still skip it.
    const o = await ollama({
      models: [
        { name: 'nomic-embed-text:latest', family: 'nomic-bert', contextLength: 8192, capabilities: ['embedding'] },
        { name: 'llama3.2:latest', family: 'llama', contextLength: 131072 },
      ],
    });
    const cloud = await openai();
    const s = withBoth(o, cloud);
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string; kind: string }[];
    assert.equal(models.find((m) => m.ref === 'ollama/nomic-embed-text:latest')?.kind, 'embedding');
    assert.equal(models.find((m) => m.ref === 'ollama/llama3.2:latest')?.kind, 'chat');
    assert.ok(models.every((m) => m.kind === 'chat' || m.kind === 'embedding'));
    const table = await aic(['models'], s);
    assert.match(table.stdout, /ollama\/nomic-embed-text:latest\s+embedding/);
    const byDefault = await aic(['ask', '--json', '--no-context', 'hi'], s);
    assert.equal(lastLine(byDefault.stdout).ref, 'ollama/llama3.2:latest');
    const asked = await aic(['ask', '--no-context', '-m', 'nomic-embed-text', 'hi'], s);
    assert.equal(asked.code, 3, asked.stderr);
    assert.match(asked.stderr, /ollama\/nomic-embed-text:latest is an embedding model: it turns text into vectors and cannot answer questions/);
    // A refusal names only models that can answer.
    assert.equal((await aic(['budget', 'set', 'tiny', '--limit', '0.0000001', '--hard'], s)).code, 0);
    const refused = await aic(['ask', '--json', '--no-context', '-m', 'openai/gpt-4.1-mini', 'hi'], s);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stdout, /models that fit: ollama\/llama3\.2:latest \(free\)/);
    assert.doesNotMatch(refused.stdout, /nomic/);
  });

  it('a key exported after the daemon started: aic says the daemon lacks it and to run aid restart', async () => {
    const o = await ollama();
    const cloud = await openai();
    const s = pool.make({ ollamaUrl: o.url, env: { OPENAI_BASE_URL: cloud.url } });
    assert.equal((await aid(['start'], s)).code, 0);
    const shell = { OPENAI_API_KEY: OPENAI_KEY };
    const asked = await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'hi'], s, { env: shell });
    assert.equal(asked.code, 3);
    assert.match(asked.stderr, /The running aid daemon started without OPENAI_API_KEY, which this shell has set: run `aid restart`/);
    assert.ok(!asked.stderr.includes(OPENAI_KEY));
    // Without the key in the shell the advice stays "set it".
    const plain = await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'hi'], s);
    assert.match(plain.stderr, /set OPENAI_API_KEY/);
    assert.doesNotMatch(plain.stderr, /aid restart/);
    // After the restart, with the key, it works.
    assert.equal((await aid(['restart'], s, { env: shell })).code, 0);
    assert.equal((await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'hi'], s, { env: shell })).code, 0);
  });

  it('aid.log records every provider call, failures too, without secrets', async () => {
    const o = await ollama();
    const cloud = await openai();
    const s = withBoth(o, cloud);
    assert.equal((await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'hello there'], s)).code, 0);
    cloud.failNext({ kind: 'status', status: 401, message: `Incorrect API key provided: ${OPENAI_KEY}` });
    assert.notEqual((await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'again'], s)).code, 0);
    const log = fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8');
    const ok = log.split('\n').find((l) => / INFO  request /.test(l) && l.includes('openai/gpt-4.1-mini'));
    assert.ok(ok, log);
    assert.match(ok, /host=openai/);
    assert.match(ok, /outcome=ok/);
    assert.match(ok, /latencyMs=\d+/);
    assert.match(ok, /tokensIn=\d+/);
    assert.match(ok, /tokensOut=\d+/);
    assert.match(ok, /costUsd=0\.\d+/);
    const failed = log.split('\n').find((l) => / WARN  request failed /.test(l));
    assert.ok(failed, log);
    assert.match(failed, /outcome=error/);
    assert.match(failed, /401/);
    assert.ok(!log.includes(OPENAI_KEY), 'the key never reaches the log');
  });
});

import { strict as assert } from 'node:assert';
import { CloudSimulator, type CloudKind } from '../fakes/cloud-simulator';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AIC_BIN, aic, aid, connect, SandboxPool, startForeground, waitFor, writeConfig, type Sandbox } from '../helpers/daemon';
import { AlertNotification, type AlertParams } from '../../protocol/budget';

const KEYS: Record<CloudKind, string> = {
  anthropic: 'sk-ant-e2e-key-0000000000000001',
  openai: 'sk-proj-e2e-key-000000000000002',
  openrouter: 'sk-or-v1-e2e-key-0000000000003',
  gemini: 'AIzaE2eKey00000000000000000000004',
};

interface ModelRow {
  ref: string;
  host: string;
  provider: string;
  model: string;
  contextWindow?: number;
  price: unknown;
}

describe('every provider through the daemon, as a user types it', function () {
  this.timeout(30000);
  const pool = new SandboxPool();
  const sims: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await pool.teardownAll();
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  async function cloud(kind: CloudKind, extra: Partial<ConstructorParameters<typeof CloudSimulator>[0]> = {}): Promise<CloudSimulator> {
    const sim = new CloudSimulator({ kind, apiKey: KEYS[kind], ...extra });
    sims.push(sim);
    await sim.start();
    return sim;
  }
  async function ollama(): Promise<OllamaSimulator> {
    const sim = new OllamaSimulator();
    sims.push(sim);
    await sim.start();
    return sim;
  }

  /** All four cloud hosts from the contract's environment variables, plus Ollama. */
  async function everyProvider(): Promise<{ s: Sandbox; sims: Record<CloudKind, CloudSimulator> }> {
    const all = {
      anthropic: await cloud('anthropic'),
      openai: await cloud('openai'),
      openrouter: await cloud('openrouter', { usage: { costUsd: 0.000042 } }),
      gemini: await cloud('gemini', { usage: { reasoningTokens: 12 } }),
    };
    const o = await ollama();
    const s = pool.make({
      ollamaUrl: o.url,
      env: {
        ANTHROPIC_API_KEY: KEYS.anthropic,
        ANTHROPIC_BASE_URL: all.anthropic.url,
        OPENAI_API_KEY: KEYS.openai,
        OPENAI_BASE_URL: all.openai.url,
        OPENROUTER_API_KEY: KEYS.openrouter,
        OPENROUTER_BASE_URL: all.openrouter.url,
        GEMINI_API_KEY: KEYS.gemini,
        GEMINI_BASE_URL: all.gemini.url,
      },
    });
    return { s, sims: all };
  }

  it('aic hosts shows every configured provider up; aic models lists each one, OpenRouter with prices', async () => {
    const { s } = await everyProvider();
    const hosts = await aic(['hosts', '--json'], s);
    assert.equal(hosts.code, 0, hosts.stderr);
    const health = Object.fromEntries((JSON.parse(hosts.stdout) as { name: string; health: string }[]).map((h) => [h.name, h.health]));
    assert.deepEqual(health, { anthropic: 'up', openai: 'up', gemini: 'up', openrouter: 'up', ollama: 'up' });
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as ModelRow[];
    const refs = models.map((m) => m.ref);
    for (const ref of [
      'anthropic/claude-haiku-4-5',
      'openai/gpt-4.1-mini',
      'gemini/gemini-2.5-flash',
      'openrouter/meta-llama/llama-3.3-70b-instruct',
      'ollama/llama3.2:latest',
    ]) {
      assert.ok(refs.includes(ref), `${ref} in ${refs.join(', ')}`);
    }
    assert.ok(!refs.includes('gemini/gemini-embedding-001'), 'embedding models cannot chat and are not listed');
    // Cloud prices from the bundled dataset, with its cache rates; a model it does not know stays unpriced.
    assert.deepEqual(models.find((m) => m.ref === 'anthropic/claude-haiku-4-5')?.price, {
      inputPerMTok: 1,
      outputPerMTok: 5,
      cacheReadPerMTok: 0.1,
      cacheWritePerMTok: 1.25,
    });
    const llama = models.find((m) => m.ref === 'openrouter/meta-llama/llama-3.3-70b-instruct');
    assert.deepEqual(llama?.price, { inputPerMTok: 0.13, outputPerMTok: 0.4 });
    assert.equal(llama?.contextWindow, 131072);
    const table = await aic(['models'], s);
    assert.match(table.stdout, /^openrouter\/meta-llama\/llama-3\.3-70b-instruct\s+131k\s+\$0\.13 in \/ \$0\.4 out/m);
    // The keys never leave the daemon.
    for (const key of Object.values(KEYS)) assert.ok(!hosts.stdout.includes(key) && !table.stdout.includes(key));
  });

  it('aic ask streams from every provider, with its usage; OpenRouter reports its own cost', async () => {
    const { s } = await everyProvider();
    for (const ref of ['anthropic/claude-haiku-4-5', 'openai/gpt-4.1-mini', 'gemini/gemini-2.5-flash', 'openrouter/meta-llama/llama-3.3-70b-instruct']) {
      const result = await aic(['ask', '--json', '-m', ref, 'one two three'], s);
      assert.equal(result.code, 0, `${ref}: ${result.stdout}${result.stderr}`);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; text?: string; ref?: string; usage?: Record<string, number>; costUsd?: number | null });
      assert.equal(
        lines
          .filter((l) => l.type === 'delta')
          .map((l) => l.text)
          .join(''),
        'Echo: one two three',
        ref,
      );
      const done = lines.at(-1);
      assert.equal(done?.type, 'done');
      assert.equal(done?.ref, ref);
      assert.equal(done?.usage?.inputTokens, 7, ref);
      // Priced from the bundled dataset (7 prompt tokens, 4 answer tokens), OpenRouter by its own report.
      const expected: Record<string, number> = {
        anthropic: (7 * 1 + 4 * 5) / 1e6,
        openai: (7 * 0.4 + 4 * 1.6) / 1e6,
        gemini: (7 * 0.3 + (4 + 12) * 2.5) / 1e6,
        openrouter: 0.000042,
      };
      const cost = done?.costUsd;
      assert.ok(typeof cost === 'number' && Math.abs(cost - expected[ref.split('/')[0]]) < 1e-12, `${ref}: cost ${String(cost)}`);
      if (ref.startsWith('gemini/')) assert.equal(done?.usage?.reasoningTokens, 12);
    }
    // The ledger adds them up: aic cost, by provider, this month.
    const cost = await aic(['cost', '--json'], s);
    assert.equal(cost.code, 0, cost.stderr);
    const report = JSON.parse(cost.stdout) as {
      totalUsd: number;
      unpricedRequests: number;
      rows: { key: string; usd: number; requests: number; inputTokens: number }[];
      projection: { monthEndUsd: number };
    };
    const total = (7 * 1 + 4 * 5) / 1e6 + (7 * 0.4 + 4 * 1.6) / 1e6 + (7 * 0.3 + 16 * 2.5) / 1e6 + 0.000042;
    assert.ok(Math.abs(report.totalUsd - total) < 1e-9, `total ${report.totalUsd} vs ${total}`);
    assert.equal(report.unpricedRequests, 0);
    assert.deepEqual(report.rows.map((r) => [r.key, r.requests, r.inputTokens]).sort(), [
      ['anthropic', 1, 7],
      ['gemini', 1, 7],
      ['openai', 1, 7],
      ['openrouter', 1, 7],
    ]);
    assert.ok(report.projection.monthEndUsd >= report.totalUsd);
    const table = await aic(['cost', '--by', 'model'], s);
    assert.match(table.stdout, /^MODEL\s+COST\s+REQUESTS/m);
    assert.match(table.stdout, /^gemini-2\.5-flash\s+\$0\.0000\d+\s+1\s/m);
    assert.match(table.stdout, /month-end projection \$/);
    assert.equal((await aic(['cost', '--by', 'colour'], s)).code, 2);
    const badDate = await aic(['cost', '--since', 'someday'], s);
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /expected YYYY-MM-DD, today, yesterday or Nd/);

    const human = await aic(['ask', '-m', 'gemini/gemini-2.5-flash', 'hi'], s);
    assert.equal(human.stdout, 'Echo: hi\n');
    assert.match(human.stderr, /gemini\/gemini-2\.5-flash · \d+ in \/ \d+ out \+ 12 reasoning tokens · \$0\.0000\d\d/);
  });

  it('a host without a key is unconfigured, with the variable to set, and its models are not offered', async () => {
    const o = await ollama();
    const s = pool.make({ ollamaUrl: o.url });
    const hosts = JSON.parse((await aic(['hosts', '--json'], s)).stdout) as { name: string; health: string; error?: string }[];
    assert.deepEqual(
      hosts.find((h) => h.name === 'openai'),
      { name: 'openai', provider: 'openai', baseUrl: 'https://api.openai.com/v1', health: 'unconfigured', error: 'set OPENAI_API_KEY' },
    );
    const ask = await aic(['ask', '-m', 'openai/gpt-4o', 'hi'], s);
    assert.equal(ask.code, 3);
    assert.match(ask.stderr, /host 'openai' is not usable: set OPENAI_API_KEY/);
  });

  it('a bare model goes to the cheapest healthy host serving it, and fails over before the first token', async () => {
    const first = await ollama();
    const second = await ollama();
    const s = pool.make({ ollamaUrl: first.url, config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: second.url } } } });
    const ok = await aic(['ask', '--json', '-m', 'llama3.2', 'hi'], s);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /"ref":"ollama\/llama3\.2:latest"/);
    await first.stop();
    const moved = await aic(['ask', '-m', 'llama3.2', 'hello there'], s);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(moved.stdout, 'Echo: hello there\n');
    assert.match(moved.stderr, /aic: ollama\/llama3\.2:latest failed before answering \(Ollama is not running at .*\); trying gpu-box\/llama3\.2:latest/);
    assert.match(moved.stderr, /^gpu-box\/llama3\.2:latest · /m);
    // An overloaded cloud host hands over too, and the client hears of it as a notice line.
    const busy = await cloud('openrouter', { models: [{ id: 'llama3.2:latest', promptPrice: 0.000001, completionPrice: 0.000002 }] });
    const s2 = pool.make({ ollamaUrl: second.url, env: { OPENROUTER_API_KEY: KEYS.openrouter, OPENROUTER_BASE_URL: busy.url } });
    const free = await aic(['ask', '--json', '-m', 'llama3.2', 'x'], s2);
    assert.match(free.stdout, /"ref":"ollama\/llama3\.2:latest"/, 'free Ollama before a priced cloud host');
    await second.stop();
    const over = await aic(['ask', '--json', '-m', 'llama3.2', 'x'], s2);
    assert.equal(over.code, 0, over.stdout + over.stderr);
    const lines = over.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; kind?: string; ref?: string; message?: string });
    assert.deepEqual([lines[0]?.type, lines[0]?.kind], ['notice', 'failover']);
    assert.match(lines[0]?.message ?? '', /trying openrouter\/llama3\.2:latest/);
    assert.equal(lines.at(-1)?.ref, 'openrouter/llama3.2:latest');
  });

  it('after text has streamed, an error is reported with what was received, never moved to another host', async () => {
    const sim = await cloud('openai');
    const other = await cloud('openai');
    const s = pool.make({
      env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: sim.url },
      config: { hosts: { 'openai-eu': { provider: 'openai', baseUrl: other.url } } },
    });
    sim.failNext({ kind: 'in-stream-error', afterChunks: 2, message: 'upstream died' });
    const result = await aic(['ask', '-m', 'gpt-4o', 'one two three four'], s);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'Echo: one\n');
    assert.match(result.stderr, /mid-stream.*after 9 characters of the answer were received/);
    assert.equal(other.chatCount(), 0);
  });

  it('honours retry-after on a 429 and says it is waiting', async () => {
    const sim = await cloud('anthropic');
    const s = pool.make({ env: { ANTHROPIC_API_KEY: KEYS.anthropic, ANTHROPIC_BASE_URL: sim.url } });
    sim.failNext({ kind: 'status', status: 429, retryAfterSec: 1 });
    const started = Date.now();
    const result = await aic(['ask', '-m', 'anthropic/claude-haiku-4-5', 'hi'], s);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Date.now() - started >= 1000, 'waited the second it asked for');
    assert.match(result.stderr, /aic: .*rate limiting.*retrying in 1\.0 s/);
    assert.equal(sim.chatCount(), 2);
  });

  it('a refused key: the host is down, ask exits 3 naming the variable, the key is never printed', async () => {
    const sim = await cloud('openai');
    const s = pool.make({ env: { OPENAI_API_KEY: 'sk-wrong-000000000000000000', OPENAI_BASE_URL: sim.url } });
    const hosts = JSON.parse((await aic(['hosts', '--json'], s)).stdout) as { name: string; health: string; error?: string }[];
    const openai = hosts.find((h) => h.name === 'openai');
    assert.equal(openai?.health, 'down');
    assert.match(openai?.error ?? '', /refused the API key .*check OPENAI_API_KEY/);
    assert.ok(!JSON.stringify(hosts).includes('sk-wrong-000000000000000000'));
    const ask = await aic(['ask', '-m', 'openai/gpt-4o', 'hi'], s);
    assert.equal(ask.code, 3, ask.stderr);
    assert.match(ask.stderr, /OpenAI \(host openai\) refused the API key \(401: .*\) — check OPENAI_API_KEY and run `aid restart`/);
    assert.ok(!ask.stderr.includes('sk-wrong-000000000000000000'));
  });

  it('a slow host does not hold up aic models; its last list is served after a restart with the host down', async () => {
    const fast = await ollama();
    const slow = await cloud('openai');
    const s = pool.make({ ollamaUrl: fast.url, env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: slow.url }, config: { probeTimeoutMs: 300 } });
    const warm = JSON.parse((await aic(['models', '--json'], s)).stdout) as ModelRow[];
    assert.ok(warm.some((m) => m.ref === 'openai/gpt-4o'));
    slow.setModelsDelay(5000);
    const refreshed = await aic(['models', '--refresh', '--json'], s);
    assert.ok(
      (JSON.parse(refreshed.stdout) as ModelRow[]).some((m) => m.ref === 'openai/gpt-4o'),
      'the last list stands in',
    );
    assert.match(refreshed.stderr, /aic: openai: list is \d+s old, host did not answer \(no answer within 300 ms from http:\/\/127\.0\.0\.1:\d+\/v1\)/);
    assert.equal((await aid(['stop'], s)).code, 0);
    await slow.stop();
    const started = Date.now();
    const afterRestart = await aic(['models', '--json'], s);
    assert.equal(afterRestart.code, 0, afterRestart.stderr);
    assert.ok(
      (JSON.parse(afterRestart.stdout) as ModelRow[]).some((m) => m.ref === 'openai/gpt-4o'),
      'served from lmdb with the host down',
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('Ctrl-C in aic ask aborts the upstream cloud request; the partial answer stays on screen', async () => {
    const sim = await cloud('anthropic', { tokenDelayMs: 300 });
    const s = pool.make({ env: { ANTHROPIC_API_KEY: KEYS.anthropic, ANTHROPIC_BASE_URL: sim.url } });
    assert.equal((await aid(['start'], s)).code, 0);
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'anthropic/claude-haiku-4-5', 'a b c d e f g h'], {
      env: s.env,
      cwd: s.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await sim.waitForFirstChunk();
    // The user hits Ctrl-C once text is on screen: the simulator having sent it is not enough, the
    // cancel can overtake it on its way through the daemon.
    await waitFor(
      () => stdout.length > 0,
      10000,
      () => 'the first text on stdout',
    );
    const aborted = sim.waitForAbort();
    child.kill('SIGINT');
    await aborted;
    assert.equal(await exited, 130);
    assert.match(stdout, /^Echo:/);
    assert.ok(!stdout.includes(' h'), 'the answer was cut, not finished');
  });

  it('warns on stderr when Ollama had to cut a prompt longer than the model window', async () => {
    const small = new OllamaSimulator({ models: [{ name: 'tiny:1b', family: 'llama', contextLength: 2048 }] });
    sims.push(small);
    await small.start();
    const s = pool.make({ ollamaUrl: small.url });
    const result = await aic(['ask', '-m', 'tiny:1b'], s, { input: 'word '.repeat(3000) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /aic: warning: the prompt filled the 2048-token context window of tiny:1b on host ollama, so Ollama dropped its beginning/);
    const body = small.requests.find((r) => r.path === '/api/chat')?.body as { options: { num_ctx: number } };
    assert.equal(body.options.num_ctx, 2048);
  });

  it('budgets: set and list them; a hard one refuses before sending, exit 4, naming what fits; --max-cost too', async () => {
    const o = await ollama();
    const sim = await cloud('openai');
    const s = pool.make({ ollamaUrl: o.url, env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: sim.url } });
    const set = await aic(['budget', 'set', 'tiny', '--limit', '0.001', '--period', 'day', '--scope', 'provider=openai', '--hard', '--alert', '50,100'], s);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^tiny\s+\$0\.001\s+day \(since \d{4}-\d{2}-\d{2}\)\s+provider=openai\s+\$0\s+\$0\.001\s+0%\s+hard\s+50%,100%$/m);
    // gpt-4.1-mini could cost up to (22 × $0.40 + 4,096 × $1.60) / 1M = $0.0066 > $0.001 (a token per prompt byte, 4 per message, plus 16).
    const refused = await aic(['ask', '-m', 'openai/gpt-4.1-mini', 'hi'], s);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(
      refused.stderr,
      /refused by budget 'tiny' \(\$0\.001 a day on provider=openai, hard\): \$0 spent, \$0\.001 left; this request to openai\/gpt-4\.1-mini could cost up to \$0\.006562; models that fit: ollama\/llama3\.2:latest \(free\), ollama\/qwen2\.5-coder:7b \(free\)/,
    );
    assert.equal(sim.chatCount(), 0, 'nothing was sent');
    const listed = JSON.parse((await aic(['budget', 'list', '--json'], s)).stdout) as {
      name: string;
      hard: boolean;
      limitUsd: number;
      spentUsd: number;
      alerts: number[];
    }[];
    assert.deepEqual(
      listed.map((b) => [b.name, b.hard, b.limitUsd, b.spentUsd, b.alerts]),
      [['tiny', true, 0.001, 0, [50, 100]]],
    );
    const capped = await aic(['ask', '--max-cost', '0.0001', '-m', 'openai/gpt-4.1-mini', 'hi'], s);
    assert.equal(capped.code, 4);
    assert.match(capped.stderr, /more than --max-cost \$0\.0001/);
    // Configured to downgrade instead, the cheapest model that fits takes the request, and says so.
    writeConfig(s, { budgetRefusal: 'downgrade' });
    assert.equal((await aid(['reload'], s)).code, 0);
    const downgraded = await aic(['ask', '--json', '-m', 'openai/gpt-4.1-mini', 'hi'], s);
    assert.equal(downgraded.code, 0, downgraded.stdout + downgraded.stderr);
    const lines = downgraded.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message?: string; ref?: string });
    assert.match(lines[0]?.message ?? '', /refused by budget 'tiny' .*; downgrading to ollama\/llama3\.2:latest$/);
    assert.equal(lines.at(-1)?.ref, 'ollama/llama3.2:latest');
    assert.equal(sim.chatCount(), 0);
    assert.equal((await aic(['budget', 'rm', 'tiny'], s)).code, 0);
    assert.equal((await aic(['ask', '-m', 'openai/gpt-4.1-mini', 'hi'], s)).code, 0);
    assert.equal((await aic(['budget', 'rm', 'tiny'], s)).code, 1);
    assert.equal((await aic(['budget', 'set', 'x', '--limit', 'lots'], s)).code, 2);
    assert.equal((await aic(['budget', 'set', 'x', '--limit', '5', '--scope', 'colour=red'], s)).code, 2);
  });

  it('a budget alert reaches connected clients when a request crosses a threshold', async () => {
    const sim = await cloud('openai');
    const s = pool.make({ env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: sim.url }, config: { alerts: { desktop: false } } });
    assert.equal((await aic(['budget', 'set', 'watch', '--limit', '0.000001', '--period', 'month', '--alert', '50'], s)).code, 0);
    const editor = await connect(s);
    const alerts: AlertParams[] = [];
    editor.connection.onNotification(AlertNotification, (alert) => {
      alerts.push(alert);
    });
    try {
      assert.equal((await aic(['ask', '-m', 'openai/gpt-4.1-mini', 'hi'], s)).code, 0);
      await waitFor(
        () => alerts.length > 0,
        5000,
        () => 'an alert',
      );
      assert.equal(alerts[0]?.budget, 'watch');
      assert.match(alerts[0]?.message ?? '', /^budget 'watch' has used \$0\.0000\d+ of \$0\.000001 this month \(\d+%, past the 50% alert\)$/);
    } finally {
      editor.close();
    }
  });

  it('aic recommend lists the models that fit a task, local first, with the cost of a request', async () => {
    const { s } = await everyProvider();
    const result = await aic(['recommend', '--json', 'review this diff for race conditions'], s);
    assert.equal(result.code, 0, result.stderr);
    const rec = JSON.parse(result.stdout) as { taskClass: string; models: { ref: string; estimatedUsd: number | null; local: boolean }[] };
    assert.equal(rec.taskClass, 'code review');
    assert.ok(rec.models.length > 0);
    assert.ok(
      rec.models.every((m, i) => i === 0 || (m.estimatedUsd ?? Infinity) >= (rec.models[i - 1]?.estimatedUsd ?? Infinity) || rec.models[i - 1]?.local),
      'cheapest first after the local ones',
    );
    const human = await aic(['recommend', 'what is a monad?'], s);
    assert.match(human.stdout, /^task: quick question \(a short question with no task words\); about 500 tokens in, 300 out; needs a small model or better$/m);
    assert.match(human.stdout, /^ollama\/llama3\.2:latest\s+small\s+131\.1k\s+free \(local\)$/m);
    assert.equal((await aic(['recommend'], s)).code, 2);
    // A context that big leaves out the local 3B model's 131k window.
    const big = JSON.parse((await aic(['recommend', '--json', '--context-tokens', '200000', 'summarize this'], s)).stdout) as {
      models: { ref: string }[];
      excluded: { ref: string }[];
    };
    assert.ok(big.excluded.some((e) => e.ref === 'ollama/llama3.2:latest'));
    assert.equal((await aic(['recommend', '--context-tokens', 'lots', 'x'], s)).code, 2);
  });

  it('aic cost --reprice prices history again with rates set since', async () => {
    const sim = await cloud('openai');
    const s = pool.make({ env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: sim.url } });
    assert.equal((await aic(['ask', '-m', 'openai/gpt-4o', 'one two three'], s)).code, 0);
    const before = JSON.parse((await aic(['cost', '--json'], s)).stdout) as { totalUsd: number };
    assert.ok(Math.abs(before.totalUsd - (7 * 2.5 + 4 * 10) / 1e6) < 1e-12, String(before.totalUsd));
    writeConfig(s, { prices: { 'openai/gpt-4o': { inputPerMTok: 1000, outputPerMTok: 1000 } } });
    assert.equal((await aid(['reload'], s)).code, 0);
    const repriced = await aic(['cost', '--reprice', '--json'], s);
    assert.equal(repriced.code, 0, repriced.stderr);
    assert.match(repriced.stderr, /^repriced 1 requests with today's rates: 1 changed, total \$0\.000058 → \$0\.011$/m);
    assert.ok(Math.abs((JSON.parse(repriced.stdout) as { totalUsd: number }).totalUsd - 0.011) < 1e-12);
    // --savings: the same usage on the model recommended now for a quick question (gpt-4.1-mini).
    const savings = JSON.parse((await aic(['cost', '--savings', '--json'], s)).stdout) as {
      classes: { taskClass: string; requests: number; recommendedRef: string; recommendedUsd: number }[];
    };
    assert.deepEqual(
      savings.classes.map((c) => [c.taskClass, c.requests, c.recommendedRef]),
      [['quick question', 1, 'openai/gpt-4.1-mini']],
    );
    assert.ok(Math.abs((savings.classes[0]?.recommendedUsd ?? 0) - (7 * 0.4 + 4 * 1.6) / 1e6) < 1e-12);
    const human = await aic(['cost', '--savings'], s);
    assert.match(human.stdout, /^quick question\s+1\s+\$0\.011\s+openai\/gpt-4\.1-mini\s+\$0\.000009\s+\$0\.010991$/m);
  });

  it('aic prices update fetches newer price data, uses it at once, and keeps it across a restart', async () => {
    const data = [
      {
        id: 'openai',
        name: 'OpenAI',
        api_pattern: 'https://api\\.openai\\.com',
        model_match: { starts_with: 'gpt' },
        models: [{ id: 'gpt-4o', match: { equals: 'gpt-4o' }, prices: { input_mtok: 7, output_mtok: 21 } }],
      },
    ];
    const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sims.push({ stop: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    const pricesUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.json`;
    const sim = await cloud('openai');
    const s = pool.make({ env: { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: sim.url }, config: { pricesUrl } });
    const priceOf = async (): Promise<unknown> =>
      (JSON.parse((await aic(['models', '--json'], s)).stdout) as ModelRow[]).find((m) => m.ref === 'openai/gpt-4o')?.price;
    assert.deepEqual(await priceOf(), { inputPerMTok: 2.5, outputPerMTok: 10, cacheReadPerMTok: 1.25 });
    const update = await aic(['prices', 'update'], s);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /^prices updated: 1 models of 1 providers, now genai-prices-data@\d{4}-/);
    assert.deepEqual(await priceOf(), { inputPerMTok: 7, outputPerMTok: 21 });
    const ask = JSON.parse((await aic(['ask', '--json', '-m', 'openai/gpt-4o', 'one two three'], s)).stdout.trim().split('\n').at(-1) ?? '{}') as {
      costUsd: number;
    };
    assert.ok(Math.abs(ask.costUsd - (7 * 7 + 4 * 21) / 1e6) < 1e-12, String(ask.costUsd));
    assert.equal((await aid(['restart'], s)).code, 0);
    assert.deepEqual(await priceOf(), { inputPerMTok: 7, outputPerMTok: 21 }, 'kept across a restart');
    const offline = await aic(['prices', 'update', '--url', 'http://127.0.0.1:1/data.json'], s);
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /could not fetch price data from http:\/\/127\.0\.0\.1:1\/data\.json .*the prices in use \(genai-prices-data@.*\) stay/);
  });

  it('sessions: every ask is a turn; --session ID (or its start) continues with the history; list, show, rm', async () => {
    const o = await ollama();
    const s = pool.make({ ollamaUrl: o.url });
    const first = JSON.parse((await aic(['ask', '--json', '-m', 'ollama/llama3.2', 'my name is Ada'], s)).stdout.trim().split('\n').at(-1) ?? '{}') as {
      sessionId: string;
    };
    const short = first.sessionId.slice(0, 8);
    const second = await aic(['ask', '--session', short, '-m', 'ollama/llama3.2', 'what is my name?'], s);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(` · session ${short}\n$`), 'a continued session is named for the next ask');
    const sent = o.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { messages: { role: string; content: string }[] };
    assert.deepEqual(sent.messages, [
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'Echo: my name is Ada' },
      { role: 'user', content: 'what is my name?' },
    ]);
    let list = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as { id: string; turns: number; title: string }[];
    assert.deepEqual(
      list.map((x) => [x.id, x.turns, x.title]),
      [[first.sessionId, 2, 'my name is Ada']],
    );
    // --new starts another session (no history sent) and names it.
    const fresh = await aic(['ask', '--new', '-m', 'ollama/llama3.2', 'a new topic'], s);
    assert.equal(fresh.code, 0, fresh.stderr);
    const freshId = / · session ([0-9a-f]{8})\n$/.exec(fresh.stderr)?.[1];
    assert.ok(freshId && freshId !== short, fresh.stderr);
    assert.equal((o.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { messages: unknown[] }).messages.length, 1);
    assert.equal((await aic(['sessions', 'rm', freshId], s)).code, 0);
    list = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as { id: string; turns: number; title: string }[];
    const shown = await aic(['sessions', 'show', short], s);
    assert.match(shown.stdout, /^> my name is Ada\n\nEcho: my name is Ada\n\[ollama\/llama3\.2:latest · \$0\]$/m);
    assert.match(shown.stdout, /^> what is my name\?\n\nEcho: what is my name\?$/m);
    const md = await aic(['sessions', 'export', short], s);
    assert.match(md.stdout, /^# my name is Ada$/m);
    assert.match(md.stdout, /^## Turn 2$/m);
    assert.match(md.stdout, /^\*\*ollama\/llama3\.2:latest\*\* \(ollama\/llama3\.2:latest · \$0 · \d+ in \/ \d+ out tokens\):$/m);
    const json = JSON.parse((await aic(['sessions', 'export', short, '--format', 'json'], s)).stdout) as { turns: { user: string; complete: boolean }[] };
    assert.deepEqual(
      json.turns.map((t) => [t.user, t.complete]),
      [
        ['my name is Ada', true],
        ['what is my name?', true],
      ],
    );
    const found = JSON.parse((await aic(['sessions', 'search', '--json', 'ADA'], s)).stdout) as { session: { id: string }; turn: number; snippet: string }[];
    assert.deepEqual(
      found.map((h) => [h.session.id, h.turn, h.snippet]),
      [[first.sessionId, 0, 'my name is Ada']],
    );
    assert.match((await aic(['sessions', 'search', 'zebra'], s)).stdout, /nothing found for 'zebra'/);
    const stats = JSON.parse((await aic(['sessions', 'stats', short, '--json'], s)).stdout) as {
      sessions: number;
      turns: number;
      incompleteTurns: number;
      costUsd: number;
      byModel: { ref: string; turns: number }[];
      avgLatencyMs: number | null;
    };
    assert.deepEqual([stats.sessions, stats.turns, stats.incompleteTurns, stats.costUsd], [1, 2, 0, 0]);
    assert.deepEqual(
      stats.byModel.map((m) => [m.ref, m.turns]),
      [['ollama/llama3.2:latest', 2]],
    );
    assert.equal(typeof stats.avgLatencyMs, 'number');
    assert.match((await aic(['sessions', 'stats'], s)).stdout, /^1 session, 2 turns \(0 incomplete\), \$0$/m);
    const missing = await aic(['ask', '--session', 'nope', 'x'], s);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session 'nope' \(see `aic sessions`\)/);
    assert.equal((await aic(['sessions', 'rm', short], s)).code, 0);
    assert.equal((await aic(['sessions', 'show', short], s)).code, 1);
  });

  it('an answer cut by Ctrl-C is kept in its session, marked incomplete', async () => {
    const o = await ollama();
    o.setTokenDelay(200);
    const s = pool.make({ ollamaUrl: o.url });
    assert.equal((await aid(['start'], s)).code, 0);
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'ollama/llama3.2', 'a b c d e f g h'], {
      env: s.env,
      cwd: s.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await o.waitForFirstChunk();
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const [only] = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as { id: string }[];
    const shown = JSON.parse((await aic(['sessions', 'show', '--json', only?.id ?? ''], s)).stdout) as {
      turns: { user: string; assistant: string; complete: boolean; error?: string }[];
    };
    assert.equal(shown.turns.length, 1);
    assert.equal(shown.turns[0]?.complete, false);
    assert.equal(shown.turns[0]?.error, 'request cancelled');
    assert.match(shown.turns[0]?.assistant ?? '', /^Echo:/);
  });

  it('a daemon killed with SIGKILL mid-answer: after restart the question and the partial answer are there, incomplete', async () => {
    const o = await ollama();
    o.setTokenDelay(150);
    const s = pool.make({ ollamaUrl: o.url });
    const daemon = await startForeground(s);
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'ollama/llama3.2', 'one two three four five six seven eight'], {
      env: { ...s.env, AID_NO_AUTOSTART: '1' },
      cwd: s.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await o.waitForFirstChunk();
    await new Promise((r) => setTimeout(r, 300));
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    assert.notEqual(await exited, 0);
    const [only] = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as { id: string }[];
    const shown = JSON.parse((await aic(['sessions', 'show', '--json', only?.id ?? ''], s)).stdout) as {
      turns: { user: string; assistant: string; complete: boolean }[];
    };
    assert.equal(shown.turns[0]?.user, 'one two three four five six seven eight');
    assert.equal(shown.turns[0]?.complete, false);
    assert.match(shown.turns[0]?.assistant ?? '', /^Echo:/);
    // And it can be continued.
    assert.equal((await aic(['ask', '--session', only?.id ?? '', '-m', 'ollama/llama3.2', 'go on'], s)).code, 0);
  });

  it('a session longer than the model window leaves out its oldest turns, whole, and says so', async () => {
    const small = new OllamaSimulator({ models: [{ name: 'tiny:1b', family: 'llama', contextLength: 4400 }] });
    sims.push(small);
    await small.start();
    const s = pool.make({ ollamaUrl: small.url });
    const long = 'word '.repeat(100);
    const first = JSON.parse((await aic(['ask', '--json', '-m', 'tiny:1b', `one ${long}`], s)).stdout.trim().split('\n').at(-1) ?? '{}') as {
      sessionId: string;
    };
    await aic(['ask', '--session', first.sessionId, '-m', 'tiny:1b', `two ${long}`], s);
    const third = await aic(['ask', '--session', first.sessionId, '-m', 'tiny:1b', 'three'], s);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /aic: warning: this session no longer fits the 4400-token window of ollama\/tiny:1b: its 1 earliest turn was left out/);
    const sent = small.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      sent.messages.map((m) => [m.role, m.content.split(' ')[0]]),
      [
        ['user', 'two'],
        ['assistant', 'Echo:'],
        ['user', 'three'],
      ],
    );
  });
});

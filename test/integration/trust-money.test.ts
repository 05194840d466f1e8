import { strict as assert } from 'node:assert';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { CloudSimulator } from '../fakes/cloud-simulator';
import { AskRequest } from '../../protocol/chat';
import { SessionsShowRequest } from '../../protocol/sessions';
import { aic, connect, SandboxPool, startForeground, waitFor, type Sandbox } from '../helpers/daemon';

const KEY = 'sk-proj-trust-money-key-0000000001';

interface CostJson {
  totalUsd: number;
  unpricedRequests: number;
  estimatedRequests: number;
  rows: { key: string; usd: number; requests: number; inputTokens: number; outputTokens: number }[];
}

async function costs(s: Sandbox, by = 'provider'): Promise<CostJson> {
  const result = await aic(['cost', '--json', '--by', by], s);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as CostJson;
}

/** $1,000 per million input tokens, output free: a call's cost is its input tokens in thousandths of a dollar. */
const PRICES = { prices: { 'openai/gpt-4.1-mini': { inputPerMTok: 1000, outputPerMTok: 0 } } };

describe('trust: money survives crashes and cancels', function () {
  this.timeout(60000);
  const pool = new SandboxPool();
  const sims: CloudSimulator[] = [];
  afterEach(async () => {
    await pool.teardownAll();
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  async function openai(tokenDelayMs: number): Promise<CloudSimulator> {
    const sim = new CloudSimulator({ kind: 'openai', apiKey: KEY, tokenDelayMs });
    sims.push(sim);
    await sim.start();
    return sim;
  }

  function sandbox(sim: CloudSimulator): Sandbox {
    return pool.make({ config: PRICES, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: sim.url } });
  }

  it('kill -9 with calls in flight: every call becomes one estimated row at the next start, none lost, none doubled; budgets count them', async () => {
    // Slow answers: every call is still streaming when the daemon dies.
    const sim = await openai(400);
    const s = sandbox(sim);
    let daemon = await startForeground(s);
    assert.equal((await aic(['budget', 'set', 'cap', '--limit', '2', '--period', 'day', '--hard'], s)).code, 0);
    const session = await connect(s);
    const prompt = 'x'.repeat(400); // ~104 tokens as sent: $0.104 each once settled
    const N = 12;
    for (let i = 0; i < N; i++) {
      session.connection
        .sendRequest(AskRequest, { prompt: `${prompt} ${i}`, model: 'openai/gpt-4.1-mini', streamToken: `t${i}`, noContext: true })
        .catch(() => undefined);
    }
    // Holds of $0.42 each: four fit under $2, the rest are refused before sending.
    await waitFor(
      () => sim.chatCount() === 4,
      15000,
      () => `4 calls at the provider, saw ${sim.chatCount()}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    process.kill(daemon.pid, 'SIGKILL');
    await daemon.exited;
    session.close();
    daemon = await startForeground(s);
    const after = await costs(s);
    assert.equal(after.rows[0]?.requests, 4, 'the four calls in flight are rows now');
    assert.equal(after.estimatedRequests, 4, 'each charged from an estimate, and said so');
    assert.ok(after.totalUsd >= 4 * 0.1, `charged at least their input: ${after.totalUsd}`);
    const [budget] = JSON.parse((await aic(['budget', 'list', '--json'], s)).stdout) as { spentUsd: number; reservedUsd: number }[];
    assert.equal(budget?.spentUsd, after.totalUsd, 'the budget counts what the crash left');
    assert.equal(budget?.reservedUsd, 0);
    // A second restart settles nothing again.
    process.kill(daemon.pid, 'SIGKILL');
    await daemon.exited;
    await startForeground(s);
    const again = await costs(s);
    assert.equal(again.rows[0]?.requests, 4);
    assert.equal(again.totalUsd, after.totalUsd);
  });

  it('a cancel after the provider took the request charges everything sent (history and context), and the turn shows the same cost', async () => {
    const sim = await openai(0);
    const s = sandbox(sim);
    await startForeground(s);
    const session = await connect(s);
    // A first turn of ~10,000 tokens: its question and answer are history for the next.
    const long = 'lorem ipsum '.repeat(3400);
    const first = await session.connection.sendRequest(AskRequest, { prompt: long, model: 'openai/gpt-4.1-mini', streamToken: 'a', noContext: true });
    // The next answer's first token comes only after 5 s: the request is taken, then cancelled.
    sim.setTokenDelay(5000);
    const source = new CancellationTokenSource();
    const pending = session.connection.sendRequest(
      AskRequest,
      { prompt: 'and a short follow-up', model: 'openai/gpt-4.1-mini', sessionId: first.sessionId, streamToken: 'b', noContext: true },
      source.token,
    );
    await waitFor(
      () => sim.chatCount() === 2,
      10000,
      () => 'the follow-up at the provider',
    );
    await new Promise((r) => setTimeout(r, 300));
    source.cancel();
    const error = (await pending.then(
      () => assert.fail('expected a cancel'),
      (e: unknown) => e,
    )) as { data?: { sessionId?: string; costUsd?: number } };
    await waitFor(
      async () => (await costs(s)).rows[0]?.requests === 2,
      10000,
      () => 'the cancelled row',
    );
    const report = await costs(s);
    const cancelledInput = (report.rows[0]?.inputTokens ?? 0) - first.usage.inputTokens;
    assert.ok(cancelledInput >= 10_000, `the cancelled call is charged the history it was sent: ${cancelledInput} input tokens`);
    assert.equal(report.estimatedRequests, 1);
    const charged = report.totalUsd - (first.costUsd ?? 0);
    assert.ok(charged > 0.01, `charged ${charged}`);
    // The client, the session and the ledger say the same.
    assert.ok(Math.abs((error.data?.costUsd ?? 0) - charged) < 1e-9, `error data ${JSON.stringify(error.data)} vs ledger ${charged}`);
    const shown = await session.connection.sendRequest(SessionsShowRequest, { id: first.sessionId });
    const cut = shown.turns[1];
    assert.equal(cut?.complete, false);
    assert.ok(Math.abs((cut?.costUsd ?? 0) - charged) < 1e-9, `turn ${cut?.costUsd} vs ledger ${charged}`);
    session.close();
  });

  it('a cancel before the provider took the request costs nothing, and leaves no empty session', async () => {
    const sim = await openai(0);
    const s = sandbox(sim);
    await startForeground(s);
    const session = await connect(s);
    // The provider holds its response headers: the call has not been taken when it is cancelled.
    sim.failNext({ kind: 'headers-delay', ms: 5000 });
    const source = new CancellationTokenSource();
    const pending = session.connection.sendRequest(
      AskRequest,
      { prompt: 'hello', model: 'openai/gpt-4.1-mini', streamToken: 'c', noContext: true },
      source.token,
    );
    await waitFor(
      () => sim.chatCount() === 1,
      10000,
      () => 'the call at the provider',
    );
    source.cancel();
    await pending.then(
      () => assert.fail('expected a cancel'),
      () => undefined,
    );
    await waitFor(
      async () => (await costs(s)).rows.length === 1,
      10000,
      () => 'the cancelled row',
    );
    const report = await costs(s);
    assert.equal(report.totalUsd, 0);
    assert.equal(report.estimatedRequests, 0);
    assert.equal(report.unpricedRequests, 0);
    // A refusal sends nothing and leaves no session either.
    assert.equal((await aic(['budget', 'set', 'none', '--limit', '0.000001', '--hard'], s)).code, 0);
    const before = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as unknown[];
    for (let i = 0; i < 3; i++) assert.equal((await aic(['ask', '--no-context', '-m', 'openai/gpt-4.1-mini', 'refuse me'], s)).code, 4);
    const after = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as unknown[];
    assert.equal(after.length, before.length, 'refusals leave no empty sessions');
    session.close();
  });

  it('a prompt larger than the model window is refused before sending, naming only models whose window holds it', async () => {
    const sim = await openai(0);
    const s = sandbox(sim);
    await startForeground(s);
    // gpt-4o's window is 128k tokens (a maintained table; OpenAI's listing has none); this is ~150k.
    const huge = 'word '.repeat(150_000);
    const refused = await aic(['ask', '--no-context', '-m', 'openai/gpt-4o'], s, { input: huge });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(
      refused.stderr,
      /the prompt is \d+ tokens, more than the 128000-token window of openai\/gpt-4o; nothing was sent; models whose window holds it: openai\/gpt-4\.1-mini/,
    );
    assert.equal(sim.chatCount(), 0, 'nothing reached the provider');
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string; contextWindow?: number }[];
    assert.deepEqual(
      models.map((m) => [m.ref, m.contextWindow]),
      [
        ['openai/gpt-4.1-mini', 1047576],
        ['openai/gpt-4o', 128000],
      ],
    );
    assert.deepEqual((await costs(s)).rows, [], 'no call, so no row');
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AidError } from '../../daemon/errors/aid-error';
import { Sessions, fitHistory } from '../../daemon/sessions/sessions';
import { Store } from '../../daemon/store/store';
import { ErrorCodes } from '../../protocol/errors';

describe('Sessions', () => {
  let dir: string;
  let store: Store;
  let sessions: Sessions;
  let clock: number;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-sessions-'));
    store = await Store.open(path.join(dir, 'data'));
    clock = 1_000_000;
    sessions = new Sessions(store, () => clock);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** A turn whose question went out: begun and committed, as AskService does before the first call. */
  const started = async (params: Parameters<Sessions['begin']>[0]): ReturnType<Sessions['begin']> => {
    const turn = await sessions.begin(params);
    await turn.commit();
    return turn;
  };

  it('a turn never sent (refused, cancelled) leaves no session and no turn behind', async () => {
    const a = await sessions.begin({ prompt: 'refused' });
    a.done();
    assert.equal(sessions.get(a.sessionId), undefined);
    assert.deepEqual(sessions.list(), []);
    const kept = await started({ prompt: 'asked' });
    kept.done();
    const b = await sessions.begin({ sessionId: kept.sessionId, prompt: 'refused too' });
    b.done();
    assert.equal(sessions.history(kept.sessionId).length, 1, 'no empty turn in an existing session');
    assert.equal(sessions.get(kept.sessionId)?.turns, 1);
  });

  it('keeps turns in order with the history for the next one; a cut answer is kept and marked', async () => {
    const a = await started({ prompt: 'first question\nwith a second line' });
    assert.deepEqual(a.history, []);
    clock += 2000;
    await sessions.progress(a.sessionId, a.index, 'partial ans');
    assert.equal(sessions.history(a.sessionId)[0]?.assistant, 'partial ans', 'saved while streaming, for a killed daemon');
    await sessions.finish(a.sessionId, a.index, { assistant: 'partial answer', ref: 'ollama/x', complete: false, error: 'request cancelled' });
    a.done();
    const b = await started({ sessionId: a.sessionId, prompt: 'second' });
    assert.deepEqual(b.history, [
      { role: 'user', content: 'first question\nwith a second line' },
      { role: 'assistant', content: 'partial answer' },
    ]);
    b.done();
    const summary = sessions.get(a.sessionId);
    assert.deepEqual([summary?.title, summary?.turns], ['first question', 2]);
    assert.deepEqual(
      sessions.history(a.sessionId).map((t) => [t.index, t.complete, t.error]),
      [
        [0, false, 'request cancelled'],
        [1, false, undefined],
      ],
    );
  });

  it('analytics: tokens by class, cost, latency and tokens/s of generation, overall and by model; cut turns do not count toward speed', async () => {
    const usage = (
      output: number,
      reasoning = 0,
    ): { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; reasoningTokens: number } => ({
      inputTokens: 10,
      outputTokens: output,
      cacheReadTokens: 5,
      cacheWriteTokens: 0,
      reasoningTokens: reasoning,
    });
    const a = await started({ prompt: 'one' });
    // 100 tokens written in 2 s after the first token: 50 tokens/s.
    await sessions.finish(a.sessionId, a.index, {
      assistant: 'x',
      ref: 'ollama/a',
      complete: true,
      usage: usage(100),
      costUsd: 0,
      latencyMs: 2500,
      ttftMs: 500,
    });
    a.done();
    const b = await started({ sessionId: a.sessionId, prompt: 'two' });
    // 30 output + 30 reasoning in 1 s: 60 tokens/s.
    await sessions.finish(b.sessionId, b.index, {
      assistant: 'y',
      ref: 'anthropic/b',
      complete: true,
      usage: usage(30, 30),
      costUsd: 0.25,
      latencyMs: 1200,
      ttftMs: 200,
    });
    b.done();
    const c = await started({ sessionId: a.sessionId, prompt: 'three' });
    await sessions.finish(c.sessionId, c.index, { assistant: 'z', ref: 'anthropic/b', complete: false, error: 'request cancelled', latencyMs: 100 });
    c.done();
    const st = sessions.stats(a.sessionId);
    assert.deepEqual(st.tokens, { input: 20, cacheRead: 10, cacheWrite: 0, output: 130, reasoning: 30 });
    assert.deepEqual([st.turns, st.incompleteTurns, st.costUsd, st.avgLatencyMs, st.avgTtftMs], [3, 1, 0.25, 1267, 350]);
    assert.equal(st.tokensPerSecond, Math.round((160 / 3000) * 10_000) / 10);
    assert.deepEqual(
      st.byModel.map((m) => [m.ref, m.turns, m.costUsd, m.tokensPerSecond]),
      [
        ['anthropic/b', 2, 0.25, 60],
        ['ollama/a', 1, 0, 50],
      ],
    );
  });

  it('takes a unique start of an id, and explains a wrong or ambiguous one', async () => {
    const a = await started({ prompt: 'x' });
    a.done();
    assert.equal(sessions.resolve(a.sessionId.slice(0, 6)), a.sessionId);
    assert.throws(
      () => sessions.resolve('zzz-not-there'),
      (e: unknown) => e instanceof AidError && e.code === ErrorCodes.NotFound && /no session 'zzz-not-there'/.test(e.message),
    );
    const b = await started({ prompt: 'y' });
    b.done();
    assert.throws(
      () => sessions.resolve(''),
      (e: unknown) => e instanceof AidError && e.code === ErrorCodes.InvalidParams && /is ambiguous/.test(e.message),
    );
  });

  it('serialises two clients on one session: the second turn starts after the first ends, none lost', async () => {
    const a = await started({ prompt: 'one' });
    let secondStarted = false;
    const second = started({ sessionId: a.sessionId, prompt: 'two' }).then((t) => {
      secondStarted = true;
      return t;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(secondStarted, false, 'waits for the first turn');
    await sessions.finish(a.sessionId, a.index, { assistant: 'ONE', ref: 'r', complete: true });
    a.done();
    const b = await second;
    assert.equal(b.index, 1);
    assert.deepEqual(
      b.history.map((m) => m.content),
      ['one', 'ONE'],
    );
    b.done();
  });

  it('fits a long history to a window by dropping whole turns, oldest first', () => {
    const turn = (n: number): { role: 'user' | 'assistant'; content: string }[] => [
      { role: 'user', content: `question ${n} ${'x'.repeat(340)}` },
      { role: 'assistant', content: `answer ${n} ${'y'.repeat(340)}` },
    ];
    const history = [...turn(1), ...turn(2), ...turn(3)];
    // Each message is about 104 tokens; a turn about 208. 450 tokens hold the prompt and two turns.
    const fitted = fitHistory(history, 'next?', 450);
    assert.equal(fitted.droppedTurns, 1);
    assert.deepEqual(
      fitted.kept.map((m) => m.content.split(' ').slice(0, 2).join(' ')),
      ['question 2', 'answer 2', 'question 3', 'answer 3'],
    );
    assert.deepEqual(fitHistory(history, 'next?', 100_000), { kept: history, droppedTurns: 0 });
    assert.equal(fitHistory(history, 'next?', 10).kept.length, 0, 'nothing fits: no history, never half a turn');
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
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

  it('keeps turns in order with the history for the next one; a cut answer is kept and marked', async () => {
    const a = await sessions.begin({ prompt: 'first question\nwith a second line' });
    assert.deepEqual(a.history, []);
    clock += 2000;
    await sessions.progress(a.sessionId, a.index, 'partial ans');
    assert.equal(sessions.history(a.sessionId)[0]?.assistant, 'partial ans', 'saved while streaming, for a killed daemon');
    await sessions.finish(a.sessionId, a.index, { assistant: 'partial answer', ref: 'ollama/x', complete: false, error: 'request cancelled' });
    a.done();
    const b = await sessions.begin({ sessionId: a.sessionId, prompt: 'second' });
    assert.deepEqual(b.history, [
      { role: 'user', content: 'first question\nwith a second line' },
      { role: 'assistant', content: 'partial answer' },
    ]);
    b.done();
    const summary = sessions.get(a.sessionId);
    assert.deepEqual([summary?.title, summary?.turns], ['first question', 2]);
    assert.deepEqual(sessions.history(a.sessionId).map((t) => [t.index, t.complete, t.error]), [[0, false, 'request cancelled'], [1, false, undefined]]);
  });

  it('takes a unique start of an id, and explains a wrong or ambiguous one', async () => {
    const a = await sessions.begin({ prompt: 'x' });
    a.done();
    assert.equal(sessions.resolve(a.sessionId.slice(0, 6)), a.sessionId);
    assert.throws(() => sessions.resolve('zzz-not-there'), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.NotFound && /no session 'zzz-not-there'/.test(e.message));
    const b = await sessions.begin({ prompt: 'y' });
    b.done();
    assert.throws(() => sessions.resolve(''), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.InvalidParams && /is ambiguous/.test(e.message));
  });

  it('serialises two clients on one session: the second turn starts after the first ends, none lost', async () => {
    const a = await sessions.begin({ prompt: 'one' });
    let secondStarted = false;
    const second = sessions.begin({ sessionId: a.sessionId, prompt: 'two' }).then((t) => {
      secondStarted = true;
      return t;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(secondStarted, false, 'waits for the first turn');
    await sessions.finish(a.sessionId, a.index, { assistant: 'ONE', ref: 'r', complete: true });
    a.done();
    const b = await second;
    assert.equal(b.index, 1);
    assert.deepEqual(b.history.map((m) => m.content), ['one', 'ONE']);
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
    assert.deepEqual(fitted.kept.map((m) => m.content.split(' ').slice(0, 2).join(' ')), ['question 2', 'answer 2', 'question 3', 'answer 3']);
    assert.deepEqual(fitHistory(history, 'next?', 100_000), { kept: history, droppedTurns: 0 });
    assert.equal(fitHistory(history, 'next?', 10).kept.length, 0, 'nothing fits: no history, never half a turn');
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Sessions } from '../daemon/sessions/sessions';
import { Store } from '../daemon/store/store';
import type { Summary } from './streams';

/** Resume and export of a 1,000-turn session; full-text search over 10,000 sessions (in process). */
export async function benchSessions(summary: (samples: number[]) => Summary, ms: (n: number) => string): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-bench-sessions-'));
  const store = await Store.open(dir);
  try {
    const sessions = new Sessions(store);
    const answer = 'Here is a considered answer. '.repeat(20);
    let long = '';
    for (let i = 0; i < 1000; i++) {
      const turn = await sessions.begin({ ...(long ? { sessionId: long } : {}), prompt: `question ${i}: how does part ${i} work?` });
      long = turn.sessionId;
      await sessions.finish(turn.sessionId, turn.index, { assistant: answer, ref: 'ollama/llama3.2:latest', costUsd: 0, complete: true });
      turn.done();
    }
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      batch.push(
        (async () => {
          const turn = await sessions.begin({ prompt: `session ${i} about topic ${i % 97} and module-${i}` });
          await sessions.finish(turn.sessionId, turn.index, {
            assistant: `${answer} keyword-${i % 1000}`,
            ref: 'openai/gpt-4.1-mini',
            costUsd: 0.0001,
            complete: true,
          });
          turn.done();
        })(),
      );
      if (batch.length >= 500) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    const resume: number[] = [];
    const exportMd: number[] = [];
    const search: number[] = [];
    for (let k = 0; k < 10; k++) {
      let t = performance.now();
      const turn = await sessions.begin({ sessionId: long, prompt: 'and one more' });
      resume.push(performance.now() - t);
      await sessions.finish(turn.sessionId, turn.index, { assistant: 'ok', ref: 'r', complete: true });
      turn.done();
      t = performance.now();
      sessions.markdown(long);
      exportMd.push(performance.now() - t);
      t = performance.now();
      sessions.search(`keyword-${k * 7}`);
      search.push(performance.now() - t);
    }
    return [
      '### Sessions (in process, lmdb)',
      '',
      '| measure | median |',
      '|---|---|',
      `| resume a 1,000-turn session (load its history, write the new turn) | ${ms(summary(resume).median)} |`,
      `| export a 1,000-turn session as Markdown | ${ms(summary(exportMd).median)} |`,
      `| full-text search over 10,000 sessions (21,000 turns) | ${ms(summary(search).median)} |`,
      '',
    ];
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

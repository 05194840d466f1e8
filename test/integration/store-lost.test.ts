import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogNotification, StatusRequest, type LogParams, type StatusResult } from '../../protocol/daemon';
import { aic, aid, connect, startForeground, waitFor } from '../helpers/daemon';
import { ollamaSuite } from '../helpers/ollama-suite';

describe('the data directory deleted while aid runs', function () {
  this.timeout(60000);
  const { pool, sim } = ollamaSuite();

  it('is noticed and said loudly; everything (before and after) is written back and survives kill -9', async () => {
    const s = pool.make({ ollamaUrl: sim().url });
    const daemon = await startForeground(s);
    const watcher = await connect(s);
    const notices: LogParams[] = [];
    watcher.connection.onNotification(LogNotification, (params) => {
      notices.push(params);
    });
    const ask = async (prompt: string): Promise<void> => {
      const asked = await aic(['ask', '-m', 'ollama/llama3.2', prompt], s);
      assert.equal(asked.code, 0, asked.stderr);
    };
    try {
      await ask('before one');
      await ask('before two');
      fs.rmSync(s.dataDir, { recursive: true });
      await ask('after one');
      await ask('after two');
      await ask('after three');

      const status = (): Promise<StatusResult> => watcher.connection.sendRequest(StatusRequest);
      await waitFor(
        async () => (await status()).store.incident?.recovered === true,
        20000,
        () => 'the store to be written back',
      );
      const after = await status();
      assert.equal(after.store.requests, 5);
      assert.match(after.store.incident?.message ?? '', /deleted while aid ran.*wrote everything it held back to .*aid\.lmdb: nothing was lost/);
      await waitFor(
        () => notices.some((n) => n.level === 'warn' && /nothing was lost/.test(n.message)),
        10000,
        () => 'the notice of the write-back',
      );
      assert.ok(
        notices.some((n) => n.level === 'error' && /deleted while aid ran.*writing it back/.test(n.message)),
        JSON.stringify(notices),
      );

      const shown = await aid(['status'], s);
      assert.match(shown.stdout, /data +.*aid\.lmdb \(5 requests\)\n +written back \(noticed .*\): the store file .* was deleted while aid ran/);
      assert.match((await aic(['status'], s)).stdout, /data +.*aid\.lmdb \(5 requests recorded\)\n +written back: the store file .* was deleted while aid ran/);
      assert.equal(fs.statSync(s.dataDir).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(s.dataDir, 'aid.lmdb')).mode & 0o777, 0o600);
      assert.match(fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8'), /ERROR store file lost while running/);
    } finally {
      watcher.close();
    }

    // No clean stop: what is on disk now is all there is.
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await startForeground(s);
    const restarted = JSON.parse((await aic(['status', '--json'], s)).stdout) as StatusResult;
    assert.equal(restarted.store.requests, 5);
    assert.equal(restarted.store.incident, undefined);
    const sessions = JSON.parse((await aic(['sessions', '--json'], s)).stdout) as { title: string }[];
    assert.deepEqual(sessions.map((x) => x.title).sort(), ['after one', 'after three', 'after two', 'before one', 'before two']);
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { OllamaSimulator } from '../fakes/ollama-simulator';
import { lastPrompt, SimulatorPool } from '../helpers/simulators';
import { AID_BIN, SandboxPool, type Sandbox } from '../helpers/daemon';
import { AidRpcError } from '../../editors/vscode/src/core/rpc';
import { markdownToHtml } from '../../editors/vscode/src/core/render';
import { AidService, ChatSession, type AskStart } from '../../editors/vscode/src/core/service';

/**
 * The VS Code extension's core (editors/vscode/src/core: everything under the `vscode` API) against
 * a real daemon it starts itself, with the Ollama simulator. The `vscode` layer itself is not run
 * here (no VS Code on these machines; editors/vscode/README.md says so).
 */
describe('the VS Code extension core, against a real daemon', function () {
  this.timeout(30000);
  const pool = new SandboxPool();
  const sims = new SimulatorPool();
  let service: AidService | undefined;
  afterEach(async () => {
    service?.dispose();
    await pool.teardownAll();
    await sims.stopAll();
  });

  async function setup(): Promise<{ s: Sandbox; fast: OllamaSimulator; aid: AidService }> {
    const fast = await sims.ollama({
      models: [
        { name: 'llama3.2:latest', contextLength: 131072 },
        { name: 'nomic-embed-text:latest', capabilities: ['embedding'] },
      ],
    });
    const slow = await sims.ollama({ tokenDelayMs: 100, reply: () => Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ') });
    const s = pool.make({ ollamaUrl: fast.url, config: { hosts: { slow: { provider: 'ollama', baseUrl: slow.url } } } });
    service = new AidService({ socketPath: s.socket, aidCommand: [process.execPath, AID_BIN], env: s.env, statusRefreshMs: 0 });
    return { s, fast, aid: service };
  }

  it('starts the daemon, streams an ask with its start first, cancels one, and keeps a chat session', async () => {
    const { s, fast, aid } = await setup();
    // Down: the status is empty and does not start the daemon.
    assert.equal(await aid.refreshStatus(), '');
    assert.equal(fs.existsSync(s.socket), false);

    const seen: (['start', AskStart] | ['delta', string])[] = [];
    const done = await aid.ask(
      {
        prompt: 'hello from vscode',
        model: 'ollama/llama3.2',
        editor: { file: 'a.ts', language: 'typescript', selection: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 }, text: 'const' } },
      },
      { onStart: (start) => seen.push(['start', start]), onDelta: (text) => seen.push(['delta', text]) },
    ).done;
    assert.deepEqual(seen[0], ['start', { ref: 'ollama/llama3.2:latest', sessionId: done.sessionId }]);
    assert.equal(done.finishReason, 'stop');
    assert.ok(lastPrompt(fast).startsWith('Selected in a.ts (lines 1-1):\n```typescript\nconst\n```'));

    let deltas = 0;
    const slow = aid.ask({ prompt: 'long', model: 'slow/llama3.2' }, { onDelta: () => (deltas++ === 0 ? slow.cancel() : undefined) });
    const error = await slow.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof AidRpcError && error.cancelled, String(error));
    assert.ok(deltas < 50);

    const chat = new ChatSession(aid);
    await chat.send('first', { model: 'ollama/llama3.2' }).done;
    const first = chat.sessionId;
    await chat.send('second', { model: 'ollama/llama3.2' }).done;
    assert.ok(first);
    assert.equal(chat.sessionId, first, 'the chat keeps its session');
    const shown = await aid.request<{ turns: { user: string }[] }>('aid/sessions/show', { id: first });
    assert.deepEqual(
      shown.turns.map((t) => t.user),
      ['first', 'second'],
    );
  });

  it('lists chat models only, names the default model, and shows the spend and tightest budget', async () => {
    const { aid } = await setup();
    const models = (await aid.chatModels()).map((m) => m.ref).sort();
    assert.deepEqual(models, ['ollama/llama3.2:latest', 'slow/llama3.2:latest', 'slow/qwen2.5-coder:7b']);
    assert.equal((await aid.defaultModel()).ref, 'ollama/llama3.2:latest');
    await aid.request('aid/budget/set', { name: 'daily', limitUsd: 5, period: 'day' });
    await aid.request('aid/budget/set', { name: 'monthly', limitUsd: 100, period: 'month' });
    assert.equal(await aid.refreshStatus(), 'aid $0 today · daily $5.00 left');
    assert.equal(aid.statusText(), 'aid $0 today · daily $5.00 left', 'the cached text, at once');
  });

  it('renders answers as HTML with nothing of the model able to become markup', () => {
    const html = markdownToHtml('# Title\n\nUse `x` **now** <script>alert(1)</script>\n\n```ts\nconst a = "<b>";\n```\n');
    assert.equal(
      html,
      '<h1>Title</h1>\n' +
        '<p>Use <code>x</code> <strong>now</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n' +
        '<pre><code>const a = &quot;&lt;b&gt;&quot;;</code></pre>',
    );
  });
});

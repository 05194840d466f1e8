import { strict as assert } from 'node:assert';
import { ResponseError } from 'vscode-jsonrpc';
import type { OllamaSimulator } from '../fakes/ollama-simulator';
import { lastPrompt, SimulatorPool } from '../helpers/simulators';
import {
  AskDeltaNotification,
  AskNoticeNotification,
  AskRequest,
  AskStartNotification,
  type AskParams,
  type AskResult,
  type AskStartParams,
  type AskDeltaParams,
  type AskNoticeParams,
} from '../../protocol/chat';
import { ContextProgressNotification, type ContextProgressParams } from '../../protocol/context';
import { StatusRequest } from '../../protocol/daemon';
import { ErrorCodes } from '../../protocol/errors';
import { aic, connect, SandboxPool, startForeground, type Sandbox } from '../helpers/daemon';
import { demoProject } from '../helpers/demo-project';

/**
 * What editor plugins need from aid/ask (issue 13): the session and model at the start of the
 * stream, the editor's buffer and selection with the question, index progress while a first ask
 * waits, and the default model before asking. A real daemon, its socket and the Ollama simulator.
 */
describe('the protocol as editors use it', function () {
  this.timeout(30000);
  const pool = new SandboxPool();
  const sims = new SimulatorPool();
  afterEach(async () => {
    await pool.teardownAll();
    await sims.stopAll();
  });
  const ollama = (): Promise<OllamaSimulator> => sims.ollama();

  async function daemon(options: Parameters<SandboxPool['make']>[0]): Promise<Sandbox> {
    const s = pool.make(options);
    await startForeground(s);
    return s;
  }

  it('sends aid/ask/start with the session and the model before the first text', async () => {
    const sim = await ollama();
    const s = await daemon({ ollamaUrl: sim.url });
    const session = await connect(s);
    const seen: [string, AskStartParams | AskDeltaParams][] = [];
    session.connection.onNotification(AskStartNotification, (p: AskStartParams) => void seen.push(['start', p]));
    session.connection.onNotification(AskDeltaNotification, (p: AskDeltaParams) => void seen.push(['delta', p]));
    const result = await session.connection.sendRequest(AskRequest, { prompt: 'hello there', model: 'ollama/llama3.2', streamToken: 'e-1' });
    session.close();
    assert.equal(seen[0]?.[0], 'start', 'start comes first');
    assert.deepEqual(seen[0]?.[1], { streamToken: 'e-1', ref: 'ollama/llama3.2:latest', sessionId: result.sessionId });
    assert.equal(seen.filter(([kind]) => kind === 'start').length, 1);
    assert.ok(seen.some(([kind]) => kind === 'delta'));
    assert.equal(result.finishReason, 'stop');
  });

  it('`aic ask --json` prints the start line before the first delta', async () => {
    const sim = await ollama();
    const s = await daemon({ ollamaUrl: sim.url });
    const run = await aic(['ask', '--json', '--no-context', '-m', 'ollama/llama3.2', 'one two'], s);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; ref?: string; sessionId?: string });
    assert.deepEqual(
      lines.map((l) => l.type),
      ['start', ...lines.slice(1, -1).map(() => 'delta'), 'done'],
    );
    assert.equal(lines[0].ref, 'ollama/llama3.2:latest');
    assert.equal(lines[0].sessionId, lines.at(-1)?.sessionId);
  });

  it('puts the selection first, counted in the context budget, and sends the unsaved buffer instead of the file on disk', async () => {
    const sim = await ollama();
    const s = await daemon({ ollamaUrl: sim.url, config: { context: { maxTokens: 600 } } });
    const root = demoProject(s);
    const session = await connect(s);
    const unsaved = 'export function reserveBudget(limit: number, spent: number): boolean {\n  return spent <= limit * 2; // UNSAVED-EDIT\n}\n';
    const selected = Array.from({ length: 40 }, (_, i) => `const selectedLine${i} = ${i};`).join('\n');
    const progress: ContextProgressParams[] = [];
    session.connection.onNotification(ContextProgressNotification, (p: ContextProgressParams) => void progress.push(p));
    const params: AskParams = {
      prompt: 'how does reserveBudget work with handleRequest',
      model: 'ollama/llama3.2',
      streamToken: 'e-2',
      project: root,
      progressToken: 'idx-1',
      editor: {
        file: `${root}/src/budget.ts`,
        language: 'typescript',
        text: unsaved,
        selection: { start: { line: 3, character: 0 }, end: { line: 42, character: 10 }, text: selected },
        cursor: { line: 1, character: 4 },
      },
    };
    const result: AskResult = await session.connection.sendRequest(AskRequest, params);
    session.close();
    const prompt = lastPrompt(sim);
    assert.ok(prompt.startsWith('Selected in src/budget.ts (lines 4-43):\n```typescript\nconst selectedLine0'), prompt.slice(0, 200));
    assert.ok(prompt.includes('UNSAVED-EDIT'), 'the buffer is sent');
    assert.ok(!prompt.includes('return spent < limit;'), 'its stale disk copy is not');
    assert.ok(prompt.endsWith('Question:\nhow does reserveBudget work with handleRequest'));
    const context = result.context;
    assert.ok(context, 'the result says what was attached');
    assert.deepEqual(
      context.files.slice(0, 2).map((f) => [f.path, f.from]),
      [
        ['src/budget.ts', 'selection'],
        ['src/budget.ts', 'buffer'],
      ],
    );
    assert.equal(context.files.filter((f) => f.path === 'src/budget.ts' && f.from === undefined).length, 0, 'no disk copy of the open file beside its buffer');
    assert.equal(context.tokenBudget, 600);
    assert.ok(context.tokensUsed <= context.tokenBudget, `the selection counts in the budget: ${context.tokensUsed} > ${context.tokenBudget}`);
    // The first ask in this project waited for its index, and said how far it was.
    assert.ok(progress.length > 0, 'index progress under the ask’s token');
    assert.ok(progress.every((p) => p.progressToken === 'idx-1' && p.project === root));
    assert.equal(progress.at(-1)?.state, 'ready');
  });

  it('sends the selection even without project context, and never the buffer of a credentials file', async () => {
    const sim = await ollama();
    const s = await daemon({ ollamaUrl: sim.url });
    const root = demoProject(s);
    const session = await connect(s);
    const notices: string[] = [];
    session.connection.onNotification(AskNoticeNotification, (p: AskNoticeParams) => void notices.push(p.message));
    await session.connection.sendRequest(AskRequest, {
      prompt: 'what is this',
      model: 'ollama/llama3.2',
      streamToken: 'e-3',
      noContext: true,
      editor: { file: '/elsewhere/notes.txt', selection: { start: { line: 0, character: 0 }, end: { line: 0, character: 3 }, text: 'abc' } },
    });
    assert.ok(lastPrompt(sim).startsWith('Selected in notes.txt (lines 1-1):\n```\nabc\n```'), lastPrompt(sim));
    await session.connection.sendRequest(AskRequest, {
      prompt: 'what is in here',
      model: 'ollama/llama3.2',
      streamToken: 'e-4',
      project: root,
      editor: { file: '.env', text: 'API_TOKEN=sk-live-do-not-send-UNSAVED\n' },
    });
    session.close();
    assert.ok(!lastPrompt(sim).includes('sk-live'), 'no credentials reach the model');
    assert.ok(
      notices.some((n) => n.includes('not attached: .env (a credentials file)')),
      notices.join('\n'),
    );
  });

  it('refuses an editor buffer over its bound with a message saying what to do, and stays up', async () => {
    const sim = await ollama();
    const s = await daemon({ ollamaUrl: sim.url });
    const session = await connect(s);
    const error = await session.connection
      .sendRequest(AskRequest, { prompt: 'q', model: 'ollama/llama3.2', streamToken: 'e-5', editor: { text: 'x'.repeat(2_000_001) } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, ErrorCodes.InvalidParams);
    assert.match(error.message, /editor\.text: the buffer is over 2,000,000 characters; send a selection instead/);
    assert.equal(sim.requests.filter((r) => r.path === '/api/chat').length, 0);
    assert.ok((await session.connection.sendRequest(StatusRequest)).pid > 0, 'the daemon still answers');
    session.close();
  });

  it('aid/status names the default model and why: a local one first, a cloud one when no local host answers, none with what to do', async () => {
    const sim = await ollama();
    const claude = await sims.cloud({ kind: 'anthropic', apiKey: 'sk-ant-editor-test-0000000000001' });
    const env = { ANTHROPIC_API_KEY: 'sk-ant-editor-test-0000000000001', ANTHROPIC_BASE_URL: claude.url };
    const statusOf = async (s: Sandbox): Promise<Awaited<ReturnType<typeof statusRequest>>> => {
      const session = await connect(s);
      try {
        return await statusRequest(session);
      } finally {
        session.close();
      }
    };
    const statusRequest = (session: Awaited<ReturnType<typeof connect>>) => session.connection.sendRequest(StatusRequest);

    const both = await statusOf(await daemon({ ollamaUrl: sim.url, env }));
    assert.equal(both.defaultModel.ref, 'ollama/llama3.2:latest');
    assert.equal(both.defaultModel.source, 'local');
    const cloudOnly = await statusOf(await daemon({ env }));
    assert.equal(cloudOnly.defaultModel.source, 'cloud');
    assert.match(cloudOnly.defaultModel.ref ?? '', /^anthropic\/claude-sonnet/);
    const configured = await statusOf(await daemon({ ollamaUrl: sim.url, env, config: { defaultModel: 'anthropic/claude-haiku-4-5' } }));
    assert.deepEqual(configured.defaultModel, {
      ref: 'anthropic/claude-haiku-4-5',
      source: 'config',
      why: "the config's defaultModel (anthropic/claude-haiku-4-5)",
    });
    const none = await statusOf(await daemon({}));
    assert.equal(none.defaultModel.source, 'none');
    assert.equal(none.defaultModel.ref, undefined);
    assert.match(none.defaultModel.why, /no model host is usable/);
  });
});

import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { MessageReader } from '../../client/chat/message-reader';
import { compactTokens, sessionCostText, statusLine } from '../../client/chat/status-line';
import { findModel } from '../../client/chat/chat-state';
import type { AskResult } from '../../protocol/chat';
import type { ModelInfo } from '../../protocol/models';

function reader(terminal: boolean): { input: PassThrough; messages: string[]; ended: () => boolean; interrupts: () => number; close(): void } {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  const messages: string[] = [];
  let ended = false;
  let interrupts = 0;
  const r = new MessageReader(
    { input, output, terminal, pasteWindowMs: 20 },
    { onMessage: (m) => messages.push(m), onEnd: () => (ended = true), onInterrupt: () => interrupts++ },
  );
  return { input, messages, ended: () => ended, interrupts: () => interrupts, close: () => r.close() };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('chat input', () => {
  it('sends each typed line as a message, and lines pasted together as one', async () => {
    const r = reader(true);
    r.input.write('one\r');
    await tick(60);
    r.input.write('two\r');
    await tick(60);
    r.input.write('pasted a\rpasted b\rpasted c\r');
    await tick(60);
    assert.deepEqual(r.messages, ['one', 'two', 'pasted a\npasted b\npasted c']);
    r.close();
  });

  it('joins a line ending in \\ with the next, and a """ block into one message; blank input sends nothing', async () => {
    const r = reader(true);
    r.input.write('first \\\r');
    await tick(40);
    r.input.write('second\r');
    await tick(60);
    r.input.write('"""\r');
    await tick(40);
    r.input.write('a\r');
    await tick(40);
    r.input.write('\r');
    await tick(40);
    r.input.write('b\r');
    await tick(40);
    r.input.write('"""\r');
    await tick(40);
    r.input.write('   \r');
    await tick(60);
    assert.deepEqual(r.messages, ['first \nsecond', 'a\n\nb']);
    r.close();
  });

  it('Ctrl-C drops what is being typed; on an empty line it is an interrupt; Ctrl-D ends', async () => {
    const r = reader(true);
    r.input.write('half a thou');
    r.input.write('\x03');
    await tick(40);
    assert.equal(r.interrupts(), 0);
    r.input.write('\x03');
    await tick(40);
    assert.equal(r.interrupts(), 1);
    r.input.write('after\r');
    await tick(60);
    assert.deepEqual(r.messages, ['after'], 'the dropped text was not sent');
    r.input.write('\x04');
    await tick(20);
    assert.ok(r.ended());
  });

  it('takes piped lines one message each, and the end of the pipe ends the chat', async () => {
    const r = reader(false);
    r.input.end('one\ntwo\n');
    await tick(40);
    assert.deepEqual(r.messages, ['one', 'two']);
    assert.ok(r.ended());
  });
});

describe('chat status line', () => {
  const result = (over: Partial<AskResult>): AskResult => ({
    ref: 'anthropic/claude-sonnet-4-5',
    sessionId: 's',
    usage: { inputTokens: 300, cacheReadTokens: 12000, cacheWriteTokens: 0, outputTokens: 45, reasoningTokens: 7 },
    costUsd: 0.0042,
    latencyMs: 900,
    ttftMs: 200,
    finishReason: 'stop',
    ...over,
  });

  it('writes token counts the way the status line has room for', () => {
    assert.deepEqual([950, 1000, 12_345, 32_768, 131_072, 200_000, 1_048_576].map(compactTokens), ['950', '1k', '12.3k', '32.8k', '131k', '200k', '1.0M']);
  });

  it('shows model, the window the conversation fills, the answer and the session cost', () => {
    assert.equal(
      statusLine(result({}), 200_000, { usd: 0.01, unpricedTurns: 0 }),
      'anthropic/claude-sonnet-4-5 · 12.3k/200k tokens · $0.0042 this answer · session $0.01',
    );
    assert.equal(
      statusLine(result({ costUsd: null }), undefined, { usd: 0, unpricedTurns: 1 }),
      'anthropic/claude-sonnet-4-5 · 12.3k tokens (window unknown) · unpriced this answer · session 1 unpriced',
    );
    assert.equal(sessionCostText({ usd: 0.5, unpricedTurns: 2 }), '$0.50 + 2 unpriced');
    assert.equal(sessionCostText({ usd: 0, unpricedTurns: 0 }), 'free');
  });

  it('finds a model as the daemon routes a reference: HOST/MODEL, bare MODEL, Ollama :latest', () => {
    const models: ModelInfo[] = [
      { ref: 'ollama/llama3.2:latest', host: 'ollama', provider: 'ollama', kind: 'chat', model: 'llama3.2:latest', contextWindow: 131072, price: 'free' },
      { ref: 'openai/gpt-4.1-mini', host: 'openai', provider: 'openai', kind: 'chat', model: 'gpt-4.1-mini', price: 'unpriced' },
    ];
    assert.equal(findModel(models, 'ollama/llama3.2')?.contextWindow, 131072);
    assert.equal(findModel(models, 'llama3.2')?.ref, 'ollama/llama3.2:latest');
    assert.equal(findModel(models, 'gpt-4.1-mini')?.ref, 'openai/gpt-4.1-mini');
    assert.equal(findModel(models, 'openai/gpt-5'), undefined);
  });
});

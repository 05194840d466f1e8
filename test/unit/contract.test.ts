import { strict as assert } from 'node:assert';
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { askParams } from '../../daemon/handlers/chat';
import { defineHandler } from '../../daemon/server/handlers';
import { AskRequest, type AskParams, type AskResult } from '../../protocol/chat';

/**
 * The contract is typed end to end: a handler is defined from its protocol RequestType, and its
 * params schema must describe exactly the protocol's params type. The `@ts-expect-error` lines are
 * the proof — if the typecheck stopped catching these mistakes, `tsc` would fail on this file.
 */
interface AskParamsWithAnotherField extends AskParams {
  seed?: number;
}
const WiderAsk = new RequestType<AskParamsWithAnotherField, AskResult, void>('aid/ask');
const answer = (): AskResult => ({
  ref: 'h/m',
  sessionId: 's',
  usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  costUsd: 0,
  latencyMs: 0,
  ttftMs: null,
  finishReason: 'stop',
});

// @ts-expect-error a field added to the protocol's params type but forgotten in the schema fails the typecheck
defineHandler(WiderAsk, askParams, answer);
// @ts-expect-error a field in the schema that the protocol does not have fails too
defineHandler(AskRequest, askParams.extend({ seed: z.number().optional() }), answer);
// @ts-expect-error a result that is not the protocol's result type fails
defineHandler(AskRequest, askParams, () => ({ ref: 'h/m' }));

describe('the typed contract', () => {
  it('the ask handler is defined from the protocol type and its schema, which agree', () => {
    const handler = defineHandler(AskRequest, askParams, answer);
    assert.equal(handler.method, 'aid/ask');
    const full: Required<Omit<AskParams, 'sessionId' | 'newSession'>> & Pick<AskParams, 'sessionId'> = {
      prompt: 'p',
      continueLast: false,
      system: 'be brief',
      temperature: 0.2,
      maxOutputTokens: 100,
      model: 'm',
      sessionId: 's',
      project: '/p',
      projectExplicit: true,
      projectForce: false,
      noContext: false,
      contextAdd: ['a'],
      contextDrop: ['b'],
      openFile: 'f',
      cwd: '/p',
      maxCostUsd: 1,
      editor: {
        file: 'src/a.ts',
        language: 'typescript',
        text: 'let a = 1;\n',
        selection: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 }, text: 'let a' },
        cursor: { line: 0, character: 5 },
      },
      progressToken: 'p',
      streamToken: 't',
    };
    // Nothing a client may send is stripped by the schema.
    assert.deepEqual(askParams.parse(full), full);
  });
});

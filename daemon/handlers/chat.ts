import { z } from 'zod';
import { AskDeltaNotification, AskNoticeNotification, AskRequest, AskStartNotification } from '../../protocol/chat';
import type { AskService } from '../chat/ask';
import { defineHandler, type Handler } from '../server/handlers';
import { progressSender } from './context';

/** What an editor may send with a question: a large source file fits; a whole log dump does not. */
export const EDITOR_LIMITS = { textChars: 2_000_000, selectionChars: 500_000, fileChars: 4096, languageChars: 64 } as const;

const position = z.object({ line: z.number().int().min(0).max(100_000_000), character: z.number().int().min(0).max(100_000_000) });

export const editorContext = z.object({
  file: z.string().min(1).max(EDITOR_LIMITS.fileChars).optional(),
  language: z.string().max(EDITOR_LIMITS.languageChars).optional(),
  text: z
    .string()
    .max(EDITOR_LIMITS.textChars, `the buffer is over ${EDITOR_LIMITS.textChars.toLocaleString('en')} characters; send a selection instead`)
    .optional(),
  selection: z
    .object({
      start: position,
      end: position,
      text: z.string().max(EDITOR_LIMITS.selectionChars, `the selection is over ${EDITOR_LIMITS.selectionChars.toLocaleString('en')} characters; select less`),
    })
    .optional(),
  cursor: position.optional(),
});

export const askParams = z.object({
  prompt: z.string().min(1, 'the prompt is empty'),
  model: z.string().min(1).optional(),
  sessionId: z.string().min(1).optional(),
  newSession: z.boolean().optional(),
  continueLast: z.boolean().optional(),
  system: z.string().min(1).max(100_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
  project: z.string().optional(),
  projectExplicit: z.boolean().optional(),
  projectForce: z.boolean().optional(),
  noContext: z.boolean().optional(),
  contextAdd: z.array(z.string().min(1).max(4096)).max(1000).optional(),
  contextDrop: z.array(z.string().min(1).max(4096)).max(1000).optional(),
  openFile: z.string().min(1).max(4096).optional(),
  cwd: z.string().min(1).max(4096).optional(),
  maxCostUsd: z.number().positive().optional(),
  editor: editorContext.optional(),
  progressToken: z.string().min(1).max(200).optional(),
  streamToken: z.string().min(1).max(200),
});

/**
 * Text that arrives within one turn of the event loop goes out as one notification: under load a
 * network read often holds several chunks of a stream, and one message per chunk costs more than
 * it tells. The first chunk leaves at once; a lone later one still leaves in the same turn.
 */
export function deltaBatcher(send: (text: string) => void): { push: (text: string) => void; flush: () => void } {
  let pending = '';
  let scheduled = false;
  let first = true;
  const flush = (): void => {
    scheduled = false;
    if (!pending) return;
    const text = pending;
    pending = '';
    send(text);
  };
  return {
    push: (text) => {
      if (first) {
        // The first text leaves at once: time to first token is what a user feels.
        first = false;
        send(text);
        return;
      }
      pending += text;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export function chatHandlers(ask: AskService): Handler[] {
  return [
    defineHandler(AskRequest, askParams, async (params, context) => {
      // Two asks under one token would stream into each other: the second is refused.
      const release = context.claimStreamToken(params.streamToken);
      const deltas = deltaBatcher((text) => context.notify(AskDeltaNotification, { streamToken: params.streamToken, text }));
      try {
        return await ask.ask(params, deltas.push, context.signal, {
          onNotice: (notice) => {
            // In order: the text before a notice goes out before it.
            deltas.flush();
            context.notify(AskNoticeNotification, { streamToken: params.streamToken, ...notice });
          },
          onStart: (start) => context.notify(AskStartNotification, { streamToken: params.streamToken, ...start }),
          onIndexProgress: progressSender(context, params.progressToken),
        });
      } finally {
        // The last text precedes the answer to the request.
        deltas.flush();
        release();
      }
    }),
  ];
}

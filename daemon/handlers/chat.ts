import { z } from 'zod';
import { AskDeltaNotification, AskNoticeNotification, AskRequest } from '../../protocol/chat';
import type { AskService } from '../chat/ask';
import { defineHandler, type Handler } from '../server/handlers';

const askParams = z.object({
  prompt: z.string().min(1, 'the prompt is empty'),
  model: z.string().min(1).optional(),
  sessionId: z.string().min(1).optional(),
  newSession: z.boolean().optional(),
  project: z.string().optional(),
  noContext: z.boolean().optional(),
  maxCostUsd: z.number().positive().optional(),
  streamToken: z.string().min(1).max(200),
});

export function chatHandlers(ask: AskService): Handler[] {
  return [
    defineHandler(AskRequest, askParams, (params, context) =>
      ask.ask(
        params,
        (text) => context.notify(AskDeltaNotification, { streamToken: params.streamToken, text }),
        context.signal,
        (notice) => context.notify(AskNoticeNotification, { streamToken: params.streamToken, ...notice }),
      ),
    ),
  ];
}

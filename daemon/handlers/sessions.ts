import { z } from 'zod';
import {
  SessionsStatsRequest,
  SessionsExportRequest,
  SessionsListRequest,
  SessionsRemoveRequest,
  SessionsSearchRequest,
  SessionsShowRequest,
} from '../../protocol/sessions';
import type { Sessions } from '../sessions/sessions';
import { defineHandler, type Handler } from '../server/handlers';

export function sessionHandlers(sessions: Sessions): Handler[] {
  const id = z.string().min(1, 'give a session id (or the start of one)').max(100);
  return [
    defineHandler(SessionsListRequest, z.object({ limit: z.number().int().min(1).max(10_000).optional() }), (params) => sessions.list(params.limit ?? 50)),
    defineHandler(SessionsShowRequest, z.object({ id }), (params) => {
      const full = sessions.resolve(params.id);
      return { session: sessions.get(full) as NonNullable<ReturnType<Sessions['get']>>, turns: sessions.history(full) };
    }),
    defineHandler(
      SessionsSearchRequest,
      z.object({ text: z.string().min(1, 'give some text to look for').max(1000), limit: z.number().int().min(1).max(1000).optional() }),
      (params) => sessions.search(params.text, params.limit ?? 50),
    ),
    defineHandler(SessionsExportRequest, z.object({ id, format: z.enum(['md', 'json']) }), (params) => {
      const full = sessions.resolve(params.id);
      const content =
        params.format === 'md' ? sessions.markdown(full) : JSON.stringify({ session: sessions.get(full), turns: sessions.history(full) }, null, 2);
      return { id: full, format: params.format, content };
    }),
    defineHandler(SessionsStatsRequest, z.object({ id: id.optional() }), (params) => sessions.stats(params.id ? sessions.resolve(params.id) : undefined)),
    defineHandler(SessionsRemoveRequest, z.object({ id }), async (params) => ({ id: await sessions.remove(params.id) })),
  ];
}

import { z } from 'zod';
import { SessionsListRequest, SessionsRemoveRequest, SessionsShowRequest } from '../../protocol/sessions';
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
    defineHandler(SessionsRemoveRequest, z.object({ id }), async (params) => ({ id: await sessions.remove(params.id) })),
  ];
}

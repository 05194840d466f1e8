import type { NotificationMessage, RequestMessage } from 'vscode-jsonrpc/node';

/**
 * What a parsed JSON body is, by JSON-RPC 2.0's rules, before vscode-jsonrpc sees it (it drops what
 * it cannot dispatch without a word, and throws on a `$/cancelRequest` without params):
 * - `dispatch`: a request or notification of the right shape, for vscode-jsonrpc;
 * - `invalid`: not a valid request: answered with -32600, with its id when it has a usable one;
 * - `ignored`: something JSON-RPC never answers (a response, since aid sends no requests; a
 *   notification whose params are unusable), only logged.
 */
export type IncomingMessage =
  | { kind: 'dispatch'; message: RequestMessage | NotificationMessage }
  | { kind: 'invalid'; id: string | number | null; reason: string }
  | { kind: 'ignored'; reason: string };

const isId = (value: unknown): value is string | number => typeof value === 'string' || typeof value === 'number';
const isStructured = (value: unknown): boolean => typeof value === 'object' && value !== null;

export function classifyMessage(value: unknown): IncomingMessage {
  if (Array.isArray(value)) {
    return {
      kind: 'invalid',
      id: null,
      reason:
        value.length === 0
          ? 'an empty array is not a request'
          : 'batches (a JSON array of requests) are not supported: send each request as a frame of its own',
    };
  }
  if (!isStructured(value))
    return { kind: 'invalid', id: null, reason: `a message is a JSON object with "jsonrpc": "2.0", not ${value === null ? 'null' : `a ${typeof value}`}` };
  const message = value as Record<string, unknown>;
  const answerId = isId(message.id) ? message.id : null;
  if (!('method' in message)) {
    if ('result' in message || 'error' in message) return { kind: 'ignored', reason: 'a response, but aid sends no requests' };
    return { kind: 'invalid', id: answerId, reason: 'no "method": a request has "jsonrpc": "2.0", an "id", a "method" and optional "params"' };
  }
  if (typeof message.method !== 'string') return { kind: 'invalid', id: answerId, reason: '"method" must be a string' };
  if (message.jsonrpc !== '2.0') return { kind: 'invalid', id: answerId, reason: '"jsonrpc" must be "2.0"' };
  if ('params' in message && !isStructured(message.params)) return { kind: 'invalid', id: answerId, reason: '"params" must be an object (or an array)' };
  if ('id' in message) {
    if (!isId(message.id))
      return { kind: 'invalid', id: null, reason: '"id" must be a string or a number: an answer to any other id could not be matched to its request' };
    return { kind: 'dispatch', message: message as unknown as RequestMessage };
  }
  if (message.method === '$/cancelRequest') {
    const params = message.params as Record<string, unknown> | undefined;
    if (!params || Array.isArray(params) || !isId(params.id)) return { kind: 'ignored', reason: '$/cancelRequest without a string or number params.id' };
  }
  return { kind: 'dispatch', message: message as unknown as NotificationMessage };
}

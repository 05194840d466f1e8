import { ResponseError, type NotificationType } from 'vscode-jsonrpc';
import type { z } from 'zod';
import { AidError } from '../errors/aid-error';

/** What a handler gets besides its params. */
export interface RequestContext {
  /** Fires on `$/cancelRequest`, client disconnect or daemon shutdown. */
  signal: AbortSignal;
  /** Sends a notification to the client that made this request. */
  notify<P>(type: NotificationType<P>, params: P): void;
  connectionId: number;
  /**
   * Reserves a stream token on this connection until the returned function is called; throws
   * -32602 naming the token when another request of the connection streams under it.
   */
  claimStreamToken(streamToken: string): () => void;
}

export interface Handler {
  method: string;
  /** Validates raw params; the handler only ever sees well-formed input. */
  params: z.ZodType;
  /** Allowed before the handshake (only the handshake itself). */
  beforeHandshake?: boolean;
  handle(params: unknown, context: RequestContext): Promise<unknown>;
}

/** Typed construction of a handler from a protocol RequestType and a params schema. */
export function defineHandler<S extends z.ZodType, R>(
  type: { method: string },
  params: S,
  handle: (params: z.infer<S>, context: RequestContext) => Promise<R> | R,
  options: { beforeHandshake?: boolean } = {},
): Handler {
  return {
    method: type.method,
    params,
    ...options,
    handle: async (p, context) => {
      try {
        return await handle(p as z.infer<S>, context);
      } catch (error) {
        throw toWireError(error);
      }
    },
  };
}

/** The one place a room's typed error becomes a JSON-RPC error. */
export function toWireError(error: unknown): unknown {
  if (!(error instanceof AidError)) return error;
  const { code, message, data } = error as AidError;
  return new ResponseError(code, message, data);
}

/** One handler per method; the connection looks methods up here instead of branching. */
export class HandlerRegistry {
  private readonly handlers = new Map<string, Handler>();

  add(...handlers: Handler[]): this {
    for (const handler of handlers) {
      if (this.handlers.has(handler.method)) throw new Error(`duplicate handler for ${handler.method}`);
      this.handlers.set(handler.method, handler);
    }
    return this;
  }

  get(method: string): Handler | undefined {
    return this.handlers.get(method);
  }

  methods(): string[] {
    return [...this.handlers.keys()];
  }
}

import { ResponseError, type NotificationType, type RequestType, type RequestType0 } from 'vscode-jsonrpc';
import { z } from 'zod';
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

/** True when A and B are the same type, not merely assignable one way (a missing optional field counts). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * A params schema that accepts exactly what the protocol says a client sends: its input type must
 * equal the RequestType's params type. A field added to one and not the other fails the typecheck
 * here, instead of being stripped silently at run time.
 */
export type ParamsSchema<S extends z.ZodType, P> = S &
  (Equals<z.input<S>, P> extends true ? unknown : { 'the params schema does not match the protocol type': { schema: z.input<S>; protocol: P } });

/** The params of a method that takes none. */
export const noParams = z.object({});

/**
 * A handler for one protocol method, typed end to end from its RequestType: the params schema must
 * describe exactly the protocol's params (checked at compile time), the handler gets what the
 * schema outputs (defaults applied), and its result must be the protocol's result type.
 */
export function defineHandler<P, R, E, S extends z.ZodType>(
  type: RequestType<P, R, E>,
  params: ParamsSchema<S, P>,
  handle: (params: z.output<S>, context: RequestContext) => Promise<NoInfer<R>> | NoInfer<R>,
  options?: { beforeHandshake?: boolean },
): Handler;
/** A method without params (RequestType0) takes `noParams`: absent, `{}` or `[]` on the wire. */
export function defineHandler<R, E>(
  type: RequestType0<R, E>,
  params: typeof noParams,
  handle: (params: Record<string, never>, context: RequestContext) => Promise<NoInfer<R>> | NoInfer<R>,
  options?: { beforeHandshake?: boolean },
): Handler;
export function defineHandler(
  type: { method: string },
  params: z.ZodType,
  handle: (params: never, context: RequestContext) => unknown,
  options: { beforeHandshake?: boolean } = {},
): Handler {
  return {
    method: type.method,
    params,
    ...options,
    handle: async (p, context) => {
      try {
        // Validated by `params` before the connection calls this.
        return await handle(p as never, context);
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

import { ErrorCodes, type ErrorCode, type ErrorData, type TurnData } from '../../protocol/errors';

/**
 * A failure the user should read, with its protocol code and typed data. Rooms throw these; the
 * connection boundary (server/handlers.ts) turns them into JSON-RPC errors, so no room below it
 * knows the wire's error type.
 */
export class AidError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly data: ErrorData<C>,
  ) {
    super(message);
    this.name = 'AidError';
  }

  /**
   * The same error naming the session it happened in and, once the question was sent, what the
   * turn was charged (learnt on the way up).
   */
  withTurn(turn: TurnData): AidError<C> {
    return new AidError(this.code, this.message, { ...this.data, ...turn });
  }
}

export const invalidParams = (message: string, issues: string[]): AidError<typeof ErrorCodes.InvalidParams> =>
  new AidError(ErrorCodes.InvalidParams, message, { issues });

export const notFound = (message: string, what: string, id: string): AidError<typeof ErrorCodes.NotFound> =>
  new AidError(ErrorCodes.NotFound, message, { what, id });

export const cancelled = (data: ErrorData<typeof ErrorCodes.Cancelled> = {}): AidError<typeof ErrorCodes.Cancelled> =>
  new AidError(ErrorCodes.Cancelled, 'request cancelled', data);

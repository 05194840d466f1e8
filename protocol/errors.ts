/**
 * aid's own JSON-RPC error codes. They sit in -33099..-33000, outside the range JSON-RPC
 * reserves (-32768..-32000), so they never collide with transport errors. Standard codes the
 * daemon also returns (see JsonRpcCodes): -32700 parse error, -32600 invalid request, -32601
 * method not found, -32602 invalid params (params as a list, a stream token already in use),
 * -32800 request cancelled (the client's own `$/cancelRequest`).
 */
export const ErrorCodes = {
  /** Params failed validation (a field missing, of the wrong type, or over its bound); `issues` names each. */
  InvalidParams: -33000,
  /** The model reference names no model a host serves (or an embedding model); `suggestions` are the closest. */
  UnknownModel: -33001,
  /** No configured, healthy host can serve the request; the message says what to start or set. */
  NoUsableHost: -33002,
  /** The provider answered with an error (its HTTP `status`, and how long it asked to wait). */
  ProviderError: -33003,
  /** A hard budget or `maxCostUsd` refused the request before anything was sent; `suggestions` would fit. */
  BudgetRefused: -33004,
  /** A named thing (session, host, budget) does not exist. */
  NotFound: -33005,
  /** The daemon is shutting down (in-flight requests are stopped with it); retry against the next daemon. */
  ShuttingDown: -33006,
  /** A request came before `aid/handshake`. */
  HandshakeRequired: -33007,
  /** The client's protocol version is not the daemon's. */
  VersionMismatch: -33008,
  /** The config file is invalid. */
  ConfigInvalid: -33009,
  /**
   * Inside the daemon: a handler stopped because its request's signal was aborted. Not sent to
   * clients since protocol 2: the connection answers the client's own cancel with
   * JsonRpcCodes.RequestCancelled (same data), a shutdown with ShuttingDown, and a client that
   * disconnected hears nothing.
   */
  Cancelled: -33010,
  /** The prompt cannot fit the model's context window; nothing was sent. */
  ContextTooLarge: -33011,
  /** Anything else; the message says what to do, the daemon log has the rest. */
  Internal: -33099,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const JsonRpcCodes = {
  /** A body that is not UTF-8 JSON (the connection stays), or framing that cannot be trusted (the connection closes); id null. */
  ParseError: -32700,
  /** Valid JSON that is not a JSON-RPC 2.0 request, or a batch (not supported); id null unless the request's was usable. */
  InvalidRequest: -32600,
  /** An unknown method. */
  MethodNotFound: -32601,
  /** Params as a list where named ones are needed; an `aid/ask` whose `streamToken` is streaming already on the connection. */
  InvalidParams: -32602,
  /** The client's own `$/cancelRequest` stopped the request (LSP's RequestCancelled); data as the request's own. */
  RequestCancelled: -32800,
} as const;

/** Exit codes of `aic`, fixed by the user-facing contract. */
export const ExitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  noUsableHost: 3,
  budgetRefused: 4,
  daemonUnreachable: 5,
} as const;

/** The exit code a client uses for a daemon error code. */
export function exitCodeFor(code: number): number {
  switch (code) {
    case ErrorCodes.UnknownModel:
    case ErrorCodes.NoUsableHost:
    case ErrorCodes.ContextTooLarge:
      return ExitCodes.noUsableHost;
    case ErrorCodes.BudgetRefused:
      return ExitCodes.budgetRefused;
    case ErrorCodes.InvalidParams:
    case JsonRpcCodes.InvalidParams:
      return ExitCodes.usage;
    default:
      return ExitCodes.failure;
  }
}

/**
 * The `data` each aid error code carries: one definition for the daemon that builds them, the
 * clients that read them and the JSON Schema editors use. Fields may be added, never renamed.
 */
export interface ErrorDataByCode {
  [ErrorCodes.InvalidParams]: { issues: string[] };
  [ErrorCodes.UnknownModel]: { ref: string; suggestions: string[] } & TurnData;
  /** `keyEnv`: key variables the daemon lacks; a client whose shell has one tells the user to restart the daemon. */
  [ErrorCodes.NoUsableHost]: { hint?: string; host?: string; keyEnv?: string[] } & TurnData;
  [ErrorCodes.ProviderError]: { host: string; provider: string; status?: number; retryAfterMs?: number } & TurnData;
  [ErrorCodes.BudgetRefused]: BudgetRefusedData;
  [ErrorCodes.NotFound]: { what: string; id: string };
  [ErrorCodes.ShuttingDown]: Record<string, never>;
  [ErrorCodes.HandshakeRequired]: Record<string, never>;
  [ErrorCodes.VersionMismatch]: { daemonVersion: string; protocolVersion: number };
  [ErrorCodes.ConfigInvalid]: { file: string; issues: string[] };
  [ErrorCodes.Cancelled]: CancelledData;
  [ErrorCodes.ContextTooLarge]: ContextTooLargeData;
  [ErrorCodes.Internal]: { host?: string } & TurnData;
}

/**
 * The `data` of the standard codes the daemon answers with. Those without data are sent without
 * the field.
 */
export interface JsonRpcErrorDataByCode {
  [JsonRpcCodes.ParseError]: Record<string, never>;
  [JsonRpcCodes.InvalidRequest]: Record<string, never>;
  [JsonRpcCodes.MethodNotFound]: Record<string, never>;
  [JsonRpcCodes.InvalidParams]: { issues: string[] };
  [JsonRpcCodes.RequestCancelled]: CancelledData;
}

/** A stopped request: the host it was at, and for an ask whose turn was recorded, its session and cost. */
export type CancelledData = { host?: string } & TurnData;

/**
 * What an `aid/ask` that failed after its question was sent adds to its error: the session that
 * keeps the cut turn, and what the turn was charged (null when its model has no price), so a
 * client shows the same cost as the ledger and `aic sessions`.
 */
export interface TurnData {
  sessionId?: string;
  costUsd?: number | null;
}

/** A prompt refused before sending because the model's window cannot hold it. */
export interface ContextTooLargeData {
  ref: string;
  /** The prompt's tokens (history, context and question), counted or estimated. */
  promptTokens: number;
  contextWindow: number;
  /** Models whose window holds it, cheapest first. */
  suggestions: string[];
  sessionId?: string;
  costUsd?: number | null;
}

/** Why a hard budget (or --max-cost) refused a request, and what would fit instead. */
export interface BudgetRefusedData {
  /** The budget that refused; absent when --max-cost did. */
  budget?: string;
  /** What the budget has left, in USD (spent and held for requests in flight taken off). */
  leftUsd?: number;
  /** The most the refused request could have cost; absent when its price is unknown. */
  worstUsd?: number;
  /** The model reference that was refused. */
  ref: string;
  /** Models that would fit, cheapest first (local, free ones first). */
  suggestions: string[];
  /** The session the request belonged to, when it already existed. */
  sessionId?: string;
  costUsd?: number | null;
}

export type ErrorData<C extends ErrorCode> = C extends keyof ErrorDataByCode ? ErrorDataByCode[C] : never;

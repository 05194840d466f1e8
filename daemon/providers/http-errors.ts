import { ProviderError, type ProviderErrorKind } from './types';

/** Who failed, so messages name the host and what to fix. */
export interface ErrorContext {
  /** Provider name for people: "Anthropic", "OpenAI". */
  label: string;
  hostName: string;
  baseUrl: string;
  /** The variable the key comes from, for "check X" hints. */
  keyEnv?: string[];
  apiKey?: string;
}

/** What an HTTP failure carried: status, headers and the provider's own message and code. */
export interface HttpFailure {
  status: number;
  headers?: Headers | undefined;
  message: string;
  /** Provider error type or code (`overloaded_error`, `insufficient_quota`, `RESOURCE_EXHAUSTED`). */
  code?: string | undefined;
  /** A delay the body asked for (Gemini's RetryInfo), when the headers have none. */
  retryAfterMs?: number | undefined;
  model?: string | undefined;
}

/**
 * `retry-after-ms` (milliseconds, what the Stainless SDKs honour first), else `retry-after` as
 * seconds or an HTTP date. Undefined when absent or nonsense.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Providers echo parts of keys in auth errors ("Incorrect API key provided: sk-ab***yz"); such
 * fragments and the key itself never leave the daemon.
 */
export function scrubSecrets(message: string, apiKey?: string): string {
  let out = message;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('[redacted]');
  return out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*.-]{4,}/g, '[redacted]').replace(/\bAIza[A-Za-z0-9_-]{10,}/g, '[redacted]');
}

function kindFor(status: number, code: string | undefined): ProviderErrorKind {
  if (code === 'insufficient_quota' || status === 402) return 'quota';
  // OpenRouter's 403 for moderation is about the prompt, not the key.
  if (code === 'moderation') return 'bad_request';
  if (status === 401 || status === 403) return 'auth';
  if (code === 'API_KEY_INVALID') return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'bad_request';
}

/** An HTTP error answer as a ProviderError whose message says what happened and what to do. */
export function httpFailure(failure: HttpFailure, context: ErrorContext): ProviderError {
  const kind = kindFor(failure.status, failure.code);
  const said = scrubSecrets(failure.message, context.apiKey);
  const where = `${context.label} (host ${context.hostName})`;
  const delay = retryAfterMs(failure.headers) ?? failure.retryAfterMs;
  let message: string;
  switch (kind) {
    case 'auth':
      message = `${where} refused the API key (${failure.status}: ${said}) — check ${context.keyEnv?.join(' or ') ?? 'the key'} and run \`aid restart\``;
      break;
    case 'quota':
      message = `${where} says the account is out of credit or quota (${failure.status}: ${said}) — top it up, or use another host`;
      break;
    case 'not_found':
      message = failure.model
        ? `model '${failure.model}' is not available on host ${context.hostName} (${failure.status}: ${said}) — see \`aic models --host ${context.hostName}\``
        : `${where} answered ${failure.status}: ${said}`;
      break;
    case 'rate_limited':
      message = `${where} is rate limiting (429: ${said})${delay !== undefined ? `; it asks to retry after ${(delay / 1000).toFixed(1)} s` : ''}`;
      break;
    case 'server':
      message = `${where} failed with ${failure.status}${failure.status === 529 ? ' (overloaded)' : ''}: ${said}`;
      break;
    default:
      message = `${where} answered ${failure.status}: ${said}`;
  }
  return new ProviderError(kind, message, failure.status, delay);
}

/**
 * An error reported inside a 200 stream, with the HTTP-like status it carries when it carries one:
 * overload and rate limits there are the host's trouble (worth a retry or another host while no
 * text was shown), anything else ends the stream.
 */
export function inStreamFailure(context: ErrorContext, status: number | undefined, detail: string, retryAfter?: number): ProviderError {
  const kind: ProviderErrorKind = status === undefined ? 'stream' : status === 429 ? 'rate_limited' : status >= 500 ? 'server' : 'stream';
  return new ProviderError(
    kind,
    `${context.label} (host ${context.hostName}) reported mid-stream: ${scrubSecrets(detail, context.apiKey)}`,
    status,
    retryAfter,
  );
}

/** A failure to reach the host at all. */
export function unreachable(context: ErrorContext, detail: string | undefined): ProviderError {
  return new ProviderError(
    'unreachable',
    `${context.label} is not reachable at ${context.baseUrl}${detail ? ` (${detail})` : ''} — check the network or the host's base URL`,
  );
}

/** No response headers within the connect deadline. */
export function connectTimeout(context: ErrorContext, ms: number): ProviderError {
  return new ProviderError('timeout', `${context.label} at ${context.baseUrl} did not answer within ${Math.round(ms / 1000)} s`);
}

/** The connection's innermost errno-like code, for "(ECONNREFUSED)" details. */
export function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  let found: string | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) found = code;
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The error classes a Stainless-generated SDK (`@anthropic-ai/sdk`, `openai`) throws. */
export interface SdkErrorClasses {
  APIError: ErrorClass;
  APIUserAbortError: ErrorClass;
  APIConnectionError: ErrorClass;
  APIConnectionTimeoutError: ErrorClass;
}

/** What an SDK's APIError carries; `status` is undefined for an error inside a 200 stream. */
export interface SdkApiError {
  status: number | undefined;
  headers: Headers | undefined;
  body: unknown;
  message: string;
}

/**
 * A Stainless SDK's error as a ProviderError: cancellation, connect timeout and unreachable host
 * the same way for both SDKs; the provider's own error bodies through `fromApiError`.
 */
export function translateSdkError(
  error: unknown,
  signal: AbortSignal,
  context: ErrorContext,
  connectTimeoutMs: number,
  classes: SdkErrorClasses,
  fromApiError: (api: SdkApiError) => ProviderError,
): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal.aborted || error instanceof classes.APIUserAbortError) return new ProviderError('cancelled', 'request cancelled');
  if (error instanceof classes.APIConnectionTimeoutError) return connectTimeout(context, connectTimeoutMs);
  if (error instanceof classes.APIConnectionError) return unreachable(context, causeCode(error) ?? error.message);
  if (error instanceof classes.APIError) {
    // These are the fields the SDKs set; instanceof cannot type them.
    const api = error as Error & { status?: number; headers?: Headers; error?: unknown };
    return fromApiError({ status: api.status, headers: api.headers, body: api.error, message: api.message });
  }
  return new ProviderError('server', `${context.label} (host ${context.hostName}) failed: ${(error as Error).message}`);
}

import * as http from 'node:http';
import { closeServer, serveLocally } from './local-server';
import { Waiters } from './waiters';

/**
 * A local stand-in for the cloud providers aid talks to (Anthropic Messages, OpenAI Chat
 * Completions, OpenRouter, Gemini's native API), faithful to their wire formats as described in
 * shared/reference/provider-wire-formats.md §0, §2, §4, §5.2–5.6, §6: the official SDKs pointed at
 * `start()`'s URL must not notice the difference. Faults (HTTP errors with each provider's exact
 * body, in-stream errors, truncation, stalls, slow headers, resets) are queued per chat request so
 * that an SDK's own retry consumes the next one, as it would against the real service. Test code only.
 */
export type CloudKind = 'anthropic' | 'openai' | 'openrouter' | 'gemini';

export interface CloudSimModel {
  id: string;
  contextLength?: number;
  /** USD per token, OpenRouter pricing strings are made from these */
  promptPrice?: number;
  completionPrice?: number;
  /** Anthropic display_name, Gemini displayName, OpenRouter name; default: derived from the id. */
  displayName?: string;
  /** Anthropic max_tokens, Gemini outputTokenLimit, OpenRouter top_provider.max_completion_tokens. */
  maxOutputTokens?: number;
}

/**
 * Cache and reasoning amounts reported on every answer, on top of the counted prompt and reply.
 * `cacheWriteTokens` is the total written to the cache; `cacheWrite1hTokens` is the part of it with
 * Anthropic's 1 h TTL (the rest is reported as 5 min), so the total never double counts.
 */
export interface CloudUsagePlan {
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  cacheWrite1hTokens?: number;
  reasoningTokens?: number;
  /** OpenRouter usage.cost; default: computed from the model's prices. */
  costUsd?: number;
}

export type CloudFault =
  | { kind: 'status'; status: number; retryAfterSec?: number; retryAfterMs?: number; message?: string }
  /** `status` picks the error's kind in the provider's terms (Anthropic's type, OpenRouter's and Gemini's code); default an overload/server error. */
  | { kind: 'in-stream-error'; afterChunks: number; message?: string; status?: number }
  | { kind: 'truncate'; afterChunks: number }
  | { kind: 'stall'; afterChunks: number }
  | { kind: 'headers-delay'; ms: number }
  | { kind: 'reset' };

export interface CloudSimulatorOptions {
  kind: CloudKind;
  models?: CloudSimModel[];
  tokenDelayMs?: number;
  /** Default "Echo: <last user text>"; streamed one word (with its leading space) per chunk. */
  reply?: (model: string, prompt: string) => string;
  usage?: CloudUsagePlan;
  /** When set, requests carrying another key (or none) get the provider's auth error. */
  apiKey?: string;
  /** openrouter: `: OPENROUTER PROCESSING` comments; anthropic: `event: ping`. */
  keepAliveComments?: boolean;
  /**
   * Chunks of thinking streamed before the answer, one every tokenDelayMs: Anthropic thinking_delta,
   * OpenRouter delta.reasoning, Gemini thought parts; OpenAI stays silent for as long.
   */
  thinkingChunks?: number;
  /** Largest page of the Anthropic and Gemini model lists (also caps a client's own limit/pageSize). */
  modelsPageSize?: number;
  port?: number;
}

export interface CloudRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

type Json = Record<string, unknown>;

interface Turn {
  role: string;
  text: string;
}

/** A chat request reduced to what every provider shares. */
interface ChatCall {
  model: CloudSimModel;
  turns: Turn[];
  stream: boolean;
  limit: number | undefined;
  /** OpenAI: stream_options.include_usage; OpenRouter always reports usage. */
  includeUsage: boolean;
  /** Gemini: `alt=sse`; without it streamGenerateContent answers one JSON array. */
  sse: boolean;
}

/** The simulator's answer to one chat request, in provider-neutral counts. */
interface Answer {
  id: string;
  created: number;
  pieces: string[];
  limited: boolean;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  reasoning: number;
  costUsd: number | undefined;
}

/** How one provider frames a stream; the loop in `streamAnswer` applies faults the same way to all. */
interface Script {
  headers: http.OutgoingHttpHeaders;
  head: string[];
  /** A chunk of visible thinking in the provider's form; undefined where it thinks in silence (OpenAI). */
  thinking: ((index: number) => string) | undefined;
  /** Frames between the thinking and the text (Anthropic closes one content block, opens the next). */
  afterThinking: string[];
  piece(text: string, index: number, final: boolean): string;
  keepAlive: string | undefined;
  tail(): string[];
  error(message: string | undefined, status: number | undefined): string[];
}

interface ErrorExtra {
  retryAfterSec?: number;
  retryAfterMs?: number;
  /** OpenAI error.code (a string there). */
  code?: string;
  param?: string;
  /** Gemini google.rpc details. */
  details?: Json[];
}

type Route = { type: 'chat'; model?: string; action?: string } | { type: 'models' } | { type: 'model'; id: string } | { type: 'key' };

const DEFAULT_MODELS: Record<CloudKind, CloudSimModel[]> = {
  anthropic: [
    { id: 'claude-sonnet-4-5-20250929', displayName: 'Claude Sonnet 4.5', contextLength: 200000, maxOutputTokens: 64000 },
    { id: 'claude-haiku-4-5', displayName: 'Claude Haiku 4.5', contextLength: 200000, maxOutputTokens: 64000 },
  ],
  openai: [
    { id: 'gpt-4.1-mini', contextLength: 1047576, maxOutputTokens: 32768 },
    { id: 'gpt-4o', contextLength: 128000, maxOutputTokens: 16384 },
  ],
  openrouter: [
    {
      id: 'anthropic/claude-sonnet-4.5',
      displayName: 'Anthropic: Claude Sonnet 4.5',
      contextLength: 1000000,
      maxOutputTokens: 64000,
      promptPrice: 0.000003,
      completionPrice: 0.000015,
    },
    {
      id: 'meta-llama/llama-3.3-70b-instruct',
      displayName: 'Meta: Llama 3.3 70B Instruct',
      contextLength: 131072,
      maxOutputTokens: 16384,
      promptPrice: 0.00000013,
      completionPrice: 0.0000004,
    },
  ],
  gemini: [
    { id: 'gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', contextLength: 1048576, maxOutputTokens: 65536 },
    { id: 'gemini-2.5-pro', displayName: 'Gemini 2.5 Pro', contextLength: 1048576, maxOutputTokens: 65536 },
  ],
};

/** Always listed by the Gemini simulator: it lacks generateContent, so clients must filter it out. */
const GEMINI_EMBEDDING = {
  name: 'models/gemini-embedding-001',
  version: '001',
  displayName: 'Gemini Embedding 001',
  description: 'Obtain a distributed representation of a text.',
  inputTokenLimit: 2048,
  outputTokenLimit: 1,
  supportedGenerationMethods: ['embedContent', 'countTextTokens', 'countTokens', 'asyncBatchEmbedContent'],
};

const BASE_PATH: Record<CloudKind, string> = { anthropic: '', openai: '/v1', openrouter: '/api/v1', gemini: '' };

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** What OpenRouter puts in error.metadata for the statuses that have some (§6.7). */
const OPENROUTER_METADATA: Record<number, Json> = {
  403: { reasons: ['violence'], flagged_input: 'how do I…', provider_name: 'OpenAI', model_slug: 'openai/gpt-4o' },
  502: { provider_name: 'Anthropic', raw: 'upstream error' },
};

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Messages in each provider's words for the statuses tests fault with; others fall back to the reason phrase. */
const MESSAGES: Record<CloudKind, Record<number, string>> = {
  anthropic: {
    400: 'Invalid request',
    401: 'invalid x-api-key',
    402: 'Your credit balance is too low to access the Anthropic API.',
    403: 'Your API key does not have permission to use the specified resource.',
    404: 'Not found',
    429: 'Number of request tokens has exceeded your per-minute rate limit. Please try again later.',
    500: 'Internal server error',
    529: 'Overloaded',
  },
  openai: {
    400: 'Invalid request',
    401: 'Incorrect API key provided.',
    429: 'Rate limit reached for requests. Please try again later.',
    500: 'The server had an error while processing your request. Sorry about that!',
    503: 'The engine is currently overloaded, please try again later.',
  },
  openrouter: {
    401: 'User not found.',
    402: 'Insufficient credits. Add more using https://openrouter.ai/settings/credits',
    403: 'Input flagged by moderation',
    408: 'Request timed out',
    429: 'Rate limit exceeded',
    502: 'Provider returned error',
    503: 'No endpoints found that can handle the requested parameters.',
  },
  gemini: {
    400: 'Request contains an invalid argument.',
    403: 'The caller does not have permission',
    404: 'Requested entity was not found.',
    429: 'You exceeded your current quota, please check your plan and billing details.',
    500: 'An internal error has occurred. Please retry.',
    503: 'The model is overloaded. Please try again later.',
  },
};

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, key: string): unknown => (isObj(v) ? v[key] : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const words = (text: string): number => text.match(/\S+/g)?.length ?? 0;

/** Text of a message content: a string, or the `text` of Anthropic blocks / OpenAI parts / Gemini parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => str(field(part, 'text')) ?? '').join('');
}

/** A USD amount as OpenRouter writes it: a plain decimal string, never exponent notation. */
function priceString(perToken: number | undefined): string {
  if (!perToken) return '0';
  return perToken.toFixed(12).replace(/\.?0+$/, '');
}

/** Anthropic's created_at from a dated id (claude-…-20250929), else a fixed past date. */
function createdAt(id: string): string {
  const m = /(\d{4})(\d{2})(\d{2})$/.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : '2025-10-01T00:00:00Z';
}

/** Waits ms, or less if `until` settles first; the timer never outlives the exchange. */
function pause(ms: number, until: Promise<void>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void until.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** One HTTP exchange: knows whether the simulator finished it or the client went away first. */
class Exchange {
  finished = false;
  closed = false;
  readonly whenClosed: Promise<void>;

  constructor(res: http.ServerResponse, onAbort: () => void) {
    let resolve: () => void = () => undefined;
    this.whenClosed = new Promise((r) => (resolve = r));
    res.on('close', () => {
      this.closed = true;
      resolve();
      if (!this.finished) onAbort();
    });
  }
}

export class CloudSimulator {
  readonly requests: CloudRecordedRequest[] = [];
  private readonly kind: CloudKind;
  private server: http.Server | undefined;
  private baseUrl = '';
  private readonly models: CloudSimModel[];
  private tokenDelayMs: number;
  private modelsDelayMs = 0;
  private readonly faults: CloudFault[] = [];
  private readonly modelFaults: number[] = [];
  private chats = 0;
  private aborted = 0;
  private serial = 0;
  /** OpenRouter /key reports what the chats so far have cost. */
  private spentUsd = 0;
  private readonly abortWaiters = new Waiters('a chat request to be abandoned by its client');
  private readonly firstChunkWaiters = new Waiters('the first text chunk');

  constructor(private options: CloudSimulatorOptions) {
    this.kind = options.kind;
    this.models = options.models ?? DEFAULT_MODELS[options.kind];
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
  }

  get url(): string {
    return this.baseUrl;
  }

  /**
   * Chat requests consume these in order, one per request (an SDK retry is a new request and meets
   * the next one). A fault is taken before auth and validation. Stream faults (`afterChunks`) on a
   * non-streaming request: truncate → half a JSON body, stall → headers then silence,
   * in-stream-error → a 500 (OpenRouter: 200 with the error inside the choice).
   */
  failNext(...faults: CloudFault[]): void {
    this.faults.push(...faults);
  }

  /** The next `count` non-chat requests (model list, single model, OpenRouter /key) answer `status`. */
  failModelsNext(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.modelFaults.push(status);
  }

  setTokenDelay(ms: number): void {
    this.tokenDelayMs = ms;
  }

  /** From now on, answers start with this many chunks of thinking (see the option). */
  setThinking(chunks: number): void {
    this.options.thinkingChunks = chunks;
  }

  setModelsDelay(ms: number): void {
    this.modelsDelayMs = ms;
  }

  chatCount(): number {
    return this.chats;
  }

  /** Chat requests whose client went away before the simulator finished answering (stop() counts too). */
  abortedCount(): number {
    return this.aborted;
  }

  waitForAbort(timeoutMs = 10000): Promise<void> {
    return this.abortWaiters.wait(timeoutMs);
  }

  waitForFirstChunk(timeoutMs = 10000): Promise<void> {
    return this.firstChunkWaiters.wait(timeoutMs);
  }

  async start(): Promise<string> {
    const { server, origin } = await serveLocally(
      (req, res) => this.handle(req, res),
      (res, message) => this.sendError(res, 500, message),
      this.options.port,
    );
    this.server = server;
    this.baseUrl = `${origin}${BASE_PATH[this.kind]}`;
    return this.baseUrl;
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return closeServer(server);
  }

  // ---- plumbing ----

  private nextId(): string {
    return String(++this.serial).padStart(6, '0');
  }

  /** Headers every answer of this provider carries (request ids the SDKs expose to callers). */
  private providerHeaders(): http.OutgoingHttpHeaders {
    const id = this.nextId();
    switch (this.kind) {
      case 'anthropic':
        return { 'request-id': `req_011Sim${id}`, 'anthropic-organization-id': '00000000-0000-4000-8000-000000000001' };
      case 'openai':
        return { 'x-request-id': `req_sim${id}`, 'openai-processing-ms': '42', 'openai-version': '2020-10-01' };
      case 'openrouter':
        return {};
      case 'gemini':
        return { 'server-timing': 'gfet4t7; dur=42' };
    }
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...this.providerHeaders(),
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** An HTTP error with this provider's exact body shape (§2.5, §4.5, §5.6, §6.7). */
  private sendError(res: http.ServerResponse, status: number, message: string | undefined, extra: ErrorExtra = {}): void {
    const text = message ?? MESSAGES[this.kind][status] ?? http.STATUS_CODES[status] ?? 'Error';
    const headers: http.OutgoingHttpHeaders = {};
    // Google reports its delay in RetryInfo only; the others use headers the SDKs read.
    if (this.kind !== 'gemini') {
      if (extra.retryAfterSec !== undefined) headers['retry-after'] = String(extra.retryAfterSec);
      if (extra.retryAfterMs !== undefined) headers['retry-after-ms'] = String(extra.retryAfterMs);
    }
    switch (this.kind) {
      case 'anthropic': {
        const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
        const base = this.providerHeaders();
        return this.sendJson(res, status, { type: 'error', error: { type, message: text }, request_id: base['request-id'] }, { ...base, ...headers });
      }
      case 'openai': {
        const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
        const code = extra.code ?? (status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null);
        return this.sendJson(res, status, { error: { message: text, type, param: extra.param ?? null, code } }, headers);
      }
      case 'openrouter':
        return this.sendJson(
          res,
          status,
          { error: { code: status, message: text, ...(OPENROUTER_METADATA[status] ? { metadata: OPENROUTER_METADATA[status] } : {}) } },
          headers,
        );
      case 'gemini': {
        const details = [...(extra.details ?? [])];
        if (status === 429) {
          details.push({
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              {
                quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
                quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
                quotaValue: '10',
              },
            ],
          });
        }
        const delaySec = extra.retryAfterSec ?? (extra.retryAfterMs !== undefined ? extra.retryAfterMs / 1000 : undefined);
        if (delaySec !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${delaySec}s` });
        const error: Json = { code: status, message: text, status: GOOGLE_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') };
        if (details.length) error.details = details;
        return this.sendJson(res, status, { error }, headers);
      }
    }
  }

  private async readBody(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  private route(method: string, path: string): Route | undefined {
    const base = BASE_PATH[this.kind];
    if (this.kind === 'gemini') {
      const m = /^\/v1beta\/models\/([^/:]+)(?::(\w+))?$/.exec(path);
      if (method === 'GET' && path === '/v1beta/models') return { type: 'models' };
      if (method === 'GET' && m?.[1] && !m[2]) return { type: 'model', id: m[1] };
      if (method === 'POST' && m?.[1] && (m[2] === 'generateContent' || m[2] === 'streamGenerateContent')) return { type: 'chat', model: m[1], action: m[2] };
      return undefined;
    }
    const chatPath = this.kind === 'anthropic' ? '/v1/messages' : `${base}/chat/completions`;
    const modelsPath = this.kind === 'anthropic' ? '/v1/models' : `${base}/models`;
    if (method === 'POST' && path === chatPath) return { type: 'chat' };
    if (method === 'GET' && path === modelsPath) return { type: 'models' };
    if (method === 'GET' && this.kind === 'openrouter' && (path === `${base}/key` || path === `${base}/auth/key`)) return { type: 'key' };
    if (method === 'GET' && this.kind !== 'openrouter' && path.startsWith(`${modelsPath}/`)) return { type: 'model', id: path.slice(modelsPath.length + 1) };
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = await this.readBody(req);
    } catch {
      this.requests.push({ method, path, query, headers: req.headers, body: undefined });
      return this.sendError(res, 400, this.kind === 'anthropic' ? 'There was an error parsing the body of your request.' : 'Invalid JSON payload received.');
    }
    this.requests.push({ method, path, query, headers: req.headers, body });
    const route = this.route(method, path);
    if (!route) return this.sendError(res, 404, this.kind === 'openai' ? `Invalid URL (${method} ${path})` : 'Not Found');
    if (route.type === 'chat') return this.chat(req, res, route, body, query);
    return this.meta(req, res, route, query);
  }

  /** The provider's refusal of this request's credentials, if any (§2.1, §2.5, §4.5, §5.6, §6.7). */
  private refuse(req: http.IncomingMessage, res: http.ServerResponse, query: Record<string, string>): boolean {
    if (this.kind === 'anthropic' && !req.headers['anthropic-version']) {
      this.sendError(res, 400, 'anthropic-version: header is required');
      return true;
    }
    const expected = this.options.apiKey;
    if (expected === undefined) return false;
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const header = (name: string): string | undefined => str(req.headers[name]);
    switch (this.kind) {
      case 'anthropic':
        if ((header('x-api-key') ?? bearer) === expected) return false;
        this.sendError(res, 401, 'invalid x-api-key');
        return true;
      case 'openai':
        if (bearer === expected) return false;
        if (bearer === undefined)
          this.sendError(
            res,
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer " +
              'YOUR_KEY).',
            { code: 'missing_api_key' },
          );
        else
          this.sendError(
            res,
            401,
            `Incorrect API key ` +
              `provided: ${bearer.slice(0, 3)}***${bearer.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            { code: 'invalid_api_key' },
          );
        return true;
      case 'openrouter':
        if (bearer === expected) return false;
        this.sendError(res, 401, bearer === undefined ? 'No auth credentials found' : 'User not found.');
        return true;
      case 'gemini': {
        const key = header('x-goog-api-key') ?? query.key;
        if (key === expected) return false;
        if (key === undefined) {
          this.sendError(
            res,
            403,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer " +
              'identity to call this API.',
          );
        } else {
          this.sendError(res, 400, 'API key not valid. Please pass a valid API key.', {
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'API_KEY_INVALID',
                domain: 'googleapis.com',
                metadata: { service: 'generativelanguage.googleapis.com' },
              },
            ],
          });
        }
        return true;
      }
    }
  }

  // ---- models, single model, OpenRouter key ----

  private async meta(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Exclude<Route, { type: 'chat' }>,
    query: Record<string, string>,
  ): Promise<void> {
    if (this.modelsDelayMs > 0) {
      const ex = new Exchange(res, () => undefined);
      await pause(this.modelsDelayMs, ex.whenClosed);
      if (ex.closed) return;
    }
    const fault = this.modelFaults.shift();
    if (fault !== undefined) return this.sendError(res, fault, undefined);
    // OpenRouter's model list is public; everything else is authenticated.
    if (!(this.kind === 'openrouter' && route.type === 'models') && this.refuse(req, res, query)) return;
    if (route.type === 'key') return this.sendJson(res, 200, this.openrouterKey(req));
    if (route.type === 'model') {
      const model = this.models.find((m) => m.id === route.id);
      if (this.kind === 'gemini') {
        if (route.id === GEMINI_EMBEDDING.name.slice('models/'.length)) return this.sendJson(res, 200, { ...GEMINI_EMBEDDING, baseModelId: route.id });
        if (!model)
          return this.sendError(
            res,
            404,
            `models/${route.id} is not found for API version v1beta, or is not supported for get. Call ListModels to see the list of available models ` +
              `and their supported methods.`,
          );
        return this.sendJson(res, 200, this.geminiModel(model));
      }
      if (!model) {
        if (this.kind === 'anthropic') return this.sendError(res, 404, `model: ${route.id}`);
        return this.sendError(res, 404, `The model \`${route.id}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
      }
      return this.sendJson(res, 200, this.kind === 'anthropic' ? this.anthropicModel(model) : this.openaiModel(model));
    }
    switch (this.kind) {
      case 'anthropic':
        return this.anthropicModels(res, query);
      case 'openai':
        return this.sendJson(res, 200, { object: 'list', data: this.models.map((m) => this.openaiModel(m)) });
      case 'openrouter':
        return this.sendJson(res, 200, { data: this.models.map((m) => this.openrouterModel(m)) });
      case 'gemini':
        return this.geminiModels(res, query);
    }
  }

  private pageSize(requested: string | undefined, fallback: number): number | undefined {
    const size = requested === undefined ? fallback : Number(requested);
    if (!Number.isInteger(size) || size < 1 || size > 1000) return undefined;
    return Math.min(size, this.options.modelsPageSize ?? Infinity);
  }

  /** §2.7: newest first as configured, `limit`/`after_id`/`before_id`, has_more + first_id/last_id. */
  private anthropicModels(res: http.ServerResponse, query: Record<string, string>): void {
    const size = this.pageSize(query.limit, 20);
    if (size === undefined) return this.sendError(res, 400, 'limit: Input should be less than or equal to 1000');
    const cursor = query.after_id ?? query.before_id;
    const at = cursor === undefined ? -1 : this.models.findIndex((m) => m.id === cursor);
    if (cursor !== undefined && at < 0) return this.sendError(res, 400, `Invalid cursor: ${cursor}`);
    let start = 0;
    let end = size;
    if (query.after_id !== undefined) [start, end] = [at + 1, at + 1 + size];
    else if (query.before_id !== undefined) [start, end] = [Math.max(0, at - size), at];
    const page = this.models.slice(start, end);
    this.sendJson(res, 200, {
      data: page.map((m) => this.anthropicModel(m)),
      has_more: query.before_id !== undefined ? start > 0 : end < this.models.length,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
    });
  }

  private anthropicModel(m: CloudSimModel): Json {
    return {
      type: 'model',
      id: m.id,
      display_name: m.displayName ?? m.id,
      created_at: createdAt(m.id),
      max_input_tokens: m.contextLength ?? null,
      max_tokens: m.maxOutputTokens ?? null,
    };
  }

  private openaiModel(m: CloudSimModel): Json {
    return { id: m.id, object: 'model', created: 1744318173, owned_by: 'system' };
  }

  private openrouterModel(m: CloudSimModel): Json {
    const [author = 'openrouter'] = m.id.split('/');
    return {
      id: m.id,
      canonical_slug: m.id,
      name: m.displayName ?? m.id,
      created: 1759161676,
      description: `Simulated ${m.id}.`,
      context_length: m.contextLength ?? 131072,
      architecture: {
        modality: 'text->text',
        input_modalities: ['text'],
        output_modalities: ['text'],
        tokenizer: author === 'anthropic' ? 'Claude' : 'Other',
        instruct_type: null,
      },
      pricing: {
        prompt: priceString(m.promptPrice),
        completion: priceString(m.completionPrice),
        request: '0',
        image: '0',
        web_search: '0',
        internal_reasoning: '0',
      },
      top_provider: { context_length: m.contextLength ?? 131072, max_completion_tokens: m.maxOutputTokens ?? null, is_moderated: author === 'anthropic' },
      per_request_limits: null,
      supported_parameters: ['max_tokens', 'temperature', 'stop', 'tools'],
      default_parameters: null,
    };
  }

  private openrouterKey(req: http.IncomingMessage): Json {
    const key = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? 'sk-or-v1-anonymous';
    const usage = Number(this.spentUsd.toFixed(10));
    return {
      data: {
        label: `${key.slice(0, 11)}...${key.slice(-3)}`,
        limit: 100,
        limit_remaining: Number((100 - usage).toFixed(10)),
        limit_reset: 'monthly',
        include_byok_in_limit: false,
        usage,
        usage_daily: usage,
        usage_weekly: usage,
        usage_monthly: usage,
        byok_usage: 0,
        byok_usage_daily: 0,
        byok_usage_weekly: 0,
        byok_usage_monthly: 0,
        is_free_tier: false,
        is_provisioning_key: false,
        is_management_key: false,
        expires_at: null,
        rate_limit: { requests: 1000, interval: '1h', note: 'This field is deprecated and safe to ignore.' },
      },
    };
  }

  private geminiModel(m: CloudSimModel): Json {
    return {
      name: `models/${m.id}`,
      baseModelId: m.id,
      version: '001',
      displayName: m.displayName ?? m.id,
      description: `Simulated ${m.id}.`,
      inputTokenLimit: m.contextLength ?? 1048576,
      outputTokenLimit: m.maxOutputTokens ?? 65536,
      supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
      temperature: 1,
      topP: 0.95,
      topK: 64,
      maxTemperature: 2,
      thinking: true,
    };
  }

  /** §5.5: pageSize (default 50) / pageToken; nextPageToken absent on the last page. */
  private geminiModels(res: http.ServerResponse, query: Record<string, string>): void {
    const size = this.pageSize(query.pageSize, 50);
    if (size === undefined) return this.sendError(res, 400, 'Invalid page size.');
    const all = [...this.models.map((m) => this.geminiModel(m)), GEMINI_EMBEDDING];
    let start = 0;
    if (query.pageToken) {
      const m = /^offset:(\d+)$/.exec(Buffer.from(query.pageToken, 'base64url').toString('utf8'));
      if (!m) return this.sendError(res, 400, 'Invalid page token.');
      start = Number(m[1]);
    }
    const end = start + size;
    const token = end < all.length ? { nextPageToken: Buffer.from(`offset:${end}`).toString('base64url') } : {};
    this.sendJson(res, 200, { models: all.slice(start, end), ...token });
  }

  // ---- chat ----

  /** The request in provider-neutral terms, or false when an error answer has been sent. */
  private parseChat(res: http.ServerResponse, route: { model?: string; action?: string }, body: unknown, query: Record<string, string>): ChatCall | false {
    const turnsOf = (list: unknown, contentKey: string): Turn[] =>
      Array.isArray(list) ? list.map((m) => ({ role: str(field(m, 'role')) ?? 'user', text: textOf(field(m, contentKey)) })) : [];
    if (this.kind === 'gemini') {
      const id = route.model ?? '';
      const model = this.models.find((m) => m.id === id);
      if (!model) {
        this.sendError(
          res,
          404,
          `models/${id} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available ` +
            `models and their supported methods.`,
        );
        return false;
      }
      const contents = field(body, 'contents');
      if (!Array.isArray(contents) || contents.length === 0) {
        this.sendError(res, 400, '* GenerateContentRequest.contents: contents is not specified\n');
        return false;
      }
      const system = textOf(field(field(body, 'systemInstruction'), 'parts'));
      return {
        model,
        turns: [...(system ? [{ role: 'system', text: system }] : []), ...turnsOf(contents, 'parts')],
        stream: route.action === 'streamGenerateContent',
        limit: num(field(field(body, 'generationConfig'), 'maxOutputTokens')),
        includeUsage: true,
        sse: query.alt === 'sse',
      };
    }
    const name = str(field(body, 'model'));
    const messages = field(body, 'messages');
    if (this.kind === 'anthropic') {
      const missing =
        name === undefined ? 'model' : num(field(body, 'max_tokens')) === undefined ? 'max_tokens' : !Array.isArray(messages) ? 'messages' : undefined;
      if (missing) {
        this.sendError(res, 400, `${missing}: Field required`);
        return false;
      }
    } else if (name === undefined || !Array.isArray(messages)) {
      if (this.kind === 'openrouter') this.sendError(res, 400, name === undefined ? 'No models provided' : 'Input required: specify "prompt" or "messages"');
      else
        this.sendError(res, 400, name === undefined ? 'you must provide a model parameter' : "Missing required parameter: 'messages'.", {
          param: name === undefined ? 'model' : 'messages',
        });
      return false;
    }
    const model = this.models.find((m) => m.id === name);
    if (!model) {
      if (this.kind === 'anthropic') this.sendError(res, 404, `model: ${name}`);
      else if (this.kind === 'openrouter') this.sendError(res, 400, `${name} is not a valid model ID`);
      else this.sendError(res, 404, `The model \`${name}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
      return false;
    }
    const system = this.kind === 'anthropic' ? textOf(field(body, 'system')) : '';
    return {
      model,
      turns: [...(system ? [{ role: 'system', text: system }] : []), ...turnsOf(messages, 'content')],
      stream: field(body, 'stream') === true,
      limit: this.kind === 'anthropic' ? num(field(body, 'max_tokens')) : (num(field(body, 'max_completion_tokens')) ?? num(field(body, 'max_tokens'))),
      includeUsage: this.kind === 'openrouter' || field(field(body, 'stream_options'), 'include_usage') === true,
      sse: true,
    };
  }

  private answer(call: ChatCall): Answer {
    const prompt = [...call.turns].reverse().find((t) => t.role === 'user')?.text ?? '';
    const reply = this.options.reply ? this.options.reply(call.model.id, prompt) : `Echo: ${prompt}`;
    let pieces: string[] = reply.match(/\s*\S+/g) ?? [];
    const limited = call.limit !== undefined && pieces.length > call.limit;
    if (limited) pieces = pieces.slice(0, call.limit);
    const plan = this.options.usage ?? {};
    const cacheWrite1h = plan.cacheWrite1hTokens ?? 0;
    return {
      id: this.nextId(),
      created: Math.floor(Date.now() / 1000),
      pieces,
      limited,
      input: call.turns.reduce((sum, t) => sum + 4 + words(t.text), 0),
      cacheRead: plan.cacheReadTokens ?? 0,
      cacheWrite: Math.max(plan.cacheWriteTokens ?? 0, cacheWrite1h),
      cacheWrite1h,
      reasoning: plan.reasoningTokens ?? 0,
      costUsd: plan.costUsd,
    };
  }

  private async chat(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: { model?: string; action?: string },
    body: unknown,
    query: Record<string, string>,
  ): Promise<void> {
    this.chats++;
    const ex = new Exchange(res, () => {
      this.aborted++;
      this.abortWaiters.fire();
    });
    // One fault per chat request, taken before anything else so an SDK retry meets the next one.
    const fault = this.faults.shift();
    if (fault?.kind === 'reset') {
      ex.finished = true;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'headers-delay') {
      await pause(fault.ms, ex.whenClosed);
      if (ex.closed) return;
    }
    ex.finished = true; // until a stream starts, every answer below is complete when sent
    if (fault?.kind === 'status') {
      const extra: ErrorExtra = {};
      if (fault.retryAfterSec !== undefined) extra.retryAfterSec = fault.retryAfterSec;
      if (fault.retryAfterMs !== undefined) extra.retryAfterMs = fault.retryAfterMs;
      return this.sendError(res, fault.status, fault.message, extra);
    }
    if (this.refuse(req, res, query)) return;
    const call = this.parseChat(res, route, body, query);
    if (!call) return;
    const answer = this.answer(call);
    if (this.kind === 'openrouter') this.spentUsd += this.openrouterCost(call.model, answer);
    const streamFault = fault && (fault.kind === 'truncate' || fault.kind === 'stall' || fault.kind === 'in-stream-error') ? fault : undefined;
    if (!call.stream) return this.jsonAnswer(res, ex, call, answer, streamFault);
    ex.finished = false;
    return this.streamAnswer(res, ex, this.script(call, answer), answer.pieces, streamFault);
  }

  /** Non-streaming: the whole answer; stream faults become a cut body, a silent body, or a server error. */
  private async jsonAnswer(
    res: http.ServerResponse,
    ex: Exchange,
    call: ChatCall,
    a: Answer,
    fault: Extract<CloudFault, { afterChunks: number }> | undefined,
  ): Promise<void> {
    const body = this.completeBody(call, a);
    if (!fault) return this.sendJson(res, 200, body);
    if (fault.kind === 'in-stream-error') {
      if (this.kind !== 'openrouter') return this.sendError(res, 500, fault.message);
      // OpenRouter answers 200 with the failure inside the choice (§6.3).
      const choice = {
        index: 0,
        message: { role: 'assistant', content: '' },
        finish_reason: 'error',
        native_finish_reason: 'error',
        error: { code: 502, message: fault.message ?? 'Provider returned error' },
      };
      return this.sendJson(res, 200, { ...body, choices: [choice] });
    }
    const text = JSON.stringify(body);
    res.writeHead(200, { ...this.providerHeaders(), 'Content-Type': 'application/json; charset=utf-8' });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    if (fault.kind === 'truncate') return void res.end();
    ex.finished = false;
    await ex.whenClosed;
  }

  private completeBody(call: ChatCall, a: Answer): Json {
    const text = a.pieces.join('');
    const model = call.model.id;
    switch (this.kind) {
      case 'anthropic':
        return {
          id: `msg_01Sim${a.id}`,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text }],
          stop_reason: a.limited ? 'max_tokens' : 'end_turn',
          stop_sequence: null,
          usage: this.anthropicUsage(a, a.pieces.length),
        };
      case 'openai':
      case 'openrouter': {
        const message = { role: 'assistant', content: text, refusal: null, ...(this.kind === 'openai' ? { annotations: [] } : { reasoning: null }) };
        const choice = { index: 0, message, logprobs: null, finish_reason: a.limited ? 'length' : 'stop', ...this.nativeFinish(call, a) };
        return { ...this.chunkBase(call, a, 'chat.completion'), choices: [choice], usage: this.openaiUsage(call, a) };
      }
      case 'gemini':
        return {
          candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: a.limited ? 'MAX_TOKENS' : 'STOP', index: 0 }],
          usageMetadata: this.geminiUsage(a, a.pieces.length),
          modelVersion: model,
          responseId: `simResp${a.id}`,
        };
    }
  }

  // ---- usage in each provider's own fields ----

  private anthropicUsage(a: Answer, output: number): Json {
    return {
      input_tokens: a.input,
      cache_creation_input_tokens: a.cacheWrite,
      cache_read_input_tokens: a.cacheRead,
      cache_creation: { ephemeral_5m_input_tokens: a.cacheWrite - a.cacheWrite1h, ephemeral_1h_input_tokens: a.cacheWrite1h },
      output_tokens: output,
      service_tier: 'standard',
    };
  }

  private openrouterCost(model: CloudSimModel, a: Answer): number {
    if (a.costUsd !== undefined) return a.costUsd;
    const prompt = a.input + a.cacheRead + a.cacheWrite;
    const completion = a.pieces.length + a.reasoning;
    return Number((prompt * (model.promptPrice ?? 0) + completion * (model.completionPrice ?? 0)).toPrecision(12));
  }

  /** prompt_tokens includes cached (and, on OpenRouter, cache-written) tokens; completion includes reasoning. */
  private openaiUsage(call: ChatCall, a: Answer): Json {
    const openrouter = this.kind === 'openrouter';
    const prompt = a.input + a.cacheRead + (openrouter ? a.cacheWrite : 0);
    const completion = a.pieces.length + a.reasoning;
    const usage: Json = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: a.cacheRead, ...(openrouter ? { cache_write_tokens: a.cacheWrite } : {}), audio_tokens: 0 },
      completion_tokens_details: openrouter
        ? { reasoning_tokens: a.reasoning, image_tokens: 0 }
        : { reasoning_tokens: a.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    if (openrouter) {
      const cost = this.openrouterCost(call.model, a);
      usage.cost = cost;
      usage.is_byok = false;
      usage.cost_details = { upstream_inference_cost: null, upstream_inference_prompt_cost: 0, upstream_inference_completions_cost: 0 };
    }
    return usage;
  }

  /** promptTokenCount includes cached tokens; thoughts are outside candidates; zero counts omitted as Google does. */
  private geminiUsage(a: Answer, candidates: number): Json {
    const prompt = a.input + a.cacheRead;
    const usage: Json = { promptTokenCount: prompt };
    if (candidates) usage.candidatesTokenCount = candidates;
    usage.totalTokenCount = prompt + candidates + a.reasoning;
    if (a.cacheRead) usage.cachedContentTokenCount = a.cacheRead;
    if (a.reasoning) usage.thoughtsTokenCount = a.reasoning;
    usage.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
    if (a.cacheRead) usage.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: a.cacheRead }];
    return usage;
  }

  private chunkBase(call: ChatCall, a: Answer, object: string): Json {
    if (this.kind === 'openrouter') {
      const author = call.model.id.split('/')[0] ?? 'openai';
      const provider = { anthropic: 'Anthropic', 'meta-llama': 'DeepInfra', openai: 'OpenAI', google: 'Google AI Studio' }[author] ?? 'Together';
      return { id: `gen-${a.created}-Sim${a.id}`, provider, model: call.model.id, object, created: a.created };
    }
    return { id: `chatcmpl-Sim${a.id}`, object, created: a.created, model: call.model.id, service_tier: 'default', system_fingerprint: 'fp_sim0001' };
  }

  private nativeFinish(call: ChatCall, a: Answer): Json {
    if (this.kind !== 'openrouter') return {};
    const anthropic = call.model.id.startsWith('anthropic/');
    return { native_finish_reason: a.limited ? (anthropic ? 'max_tokens' : 'length') : anthropic ? 'end_turn' : 'stop' };
  }

  // ---- streaming ----

  private script(call: ChatCall, a: Answer): Script {
    const keepAliveWanted = this.options.keepAliveComments === true;
    switch (this.kind) {
      case 'anthropic': {
        const sse = (event: string, data: Json = {}): string => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
        const ping = keepAliveWanted ? sse('ping') : undefined;
        const start = {
          id: `msg_01Sim${a.id}`,
          type: 'message',
          role: 'assistant',
          model: call.model.id,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: this.anthropicUsage(a, 1),
        };
        const output = a.pieces.length + a.reasoning;
        const thinks = (this.options.thinkingChunks ?? 0) > 0;
        const textIndex = thinks ? 1 : 0;
        return {
          headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' },
          head: [
            sse('message_start', { message: start }),
            ...(ping ? [ping] : []),
            sse('content_block_start', { index: 0, content_block: thinks ? { type: 'thinking', thinking: '' } : { type: 'text', text: '' } }),
          ],
          thinking: (i) => sse('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: `step ${i} ` } }),
          afterThinking: thinks
            ? [
                sse('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'EqQBCkYIBxSim' } }),
                sse('content_block_stop', { index: 0 }),
                sse('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
              ]
            : [],
          piece: (text) => sse('content_block_delta', { index: textIndex, delta: { type: 'text_delta', text } }),
          keepAlive: ping,
          tail: () => [
            sse('content_block_stop', { index: textIndex }),
            // Cumulative totals, input side repeated as the current API does (§2.4).
            sse('message_delta', {
              delta: { stop_reason: a.limited ? 'max_tokens' : 'end_turn', stop_sequence: null },
              usage: { input_tokens: a.input, cache_creation_input_tokens: a.cacheWrite, cache_read_input_tokens: a.cacheRead, output_tokens: output },
            }),
            sse('message_stop'),
          ],
          error: (message, status) => [
            sse('error', { error: { type: status ? (ANTHROPIC_TYPES[status] ?? 'api_error') : 'overloaded_error', message: message ?? 'Overloaded' } }),
          ],
        };
      }
      case 'openai':
      case 'openrouter': {
        const openrouter = this.kind === 'openrouter';
        const data = (value: Json): string => `data: ${JSON.stringify(value)}\n\n`;
        const base = this.chunkBase(call, a, 'chat.completion.chunk');
        // With include_usage every OpenAI chunk carries `usage: null` until the usage chunk (§4.4).
        const usageNull = !openrouter && call.includeUsage ? { usage: null } : {};
        const choice = (delta: Json, finish: string | null, extra: Json = {}): Json => ({
          index: 0,
          delta,
          ...(openrouter ? {} : { logprobs: null }),
          finish_reason: finish,
          ...(openrouter ? { native_finish_reason: null } : {}),
          ...extra,
        });
        const comment = openrouter && keepAliveWanted ? ': OPENROUTER PROCESSING\n\n' : undefined;
        return {
          headers: {
            'Content-Type': 'text/event-stream; charset=utf-8',
            'Cache-Control': 'no-cache',
            ...(openrouter ? { 'X-Generation-Id': base.id as string } : {}),
          },
          // OpenAI opens with an empty role chunk; OpenRouter puts the role on the first text chunk.
          head: openrouter
            ? comment
              ? [comment]
              : []
            : [data({ ...base, choices: [choice({ role: 'assistant', content: '', refusal: null }, null)], ...usageNull })],
          // OpenAI's chat completions show no reasoning: the stream is just silent meanwhile.
          thinking: openrouter ? (i) => data({ ...base, choices: [choice({ role: 'assistant', content: '', reasoning: `step ${i} ` }, null)] }) : undefined,
          afterThinking: [],
          piece: (text, index) =>
            data({ ...base, choices: [choice(openrouter && index === 0 ? { role: 'assistant', content: text } : { content: text }, null)], ...usageNull }),
          keepAlive: comment,
          tail: () => [
            data({
              ...base,
              choices: [choice(openrouter ? { role: 'assistant', content: '' } : {}, a.limited ? 'length' : 'stop', this.nativeFinish(call, a))],
              ...usageNull,
            }),
            ...(call.includeUsage ? [data({ ...base, choices: [], usage: this.openaiUsage(call, a) })] : []),
            'data: [DONE]\n\n',
          ],
          error: (message, status) =>
            openrouter
              ? [
                  data({
                    ...base,
                    error: { code: status ?? 'server_error', message: message ?? 'Provider disconnected' },
                    choices: [choice({ content: '' }, 'error', { native_finish_reason: 'error' })],
                  }),
                  'data: [DONE]\n\n',
                ]
              : [
                  data({
                    error: {
                      message: message ?? 'The server had an error while processing your request. Sorry about that!',
                      type: status === 429 ? 'requests' : status === undefined || status >= 500 ? 'server_error' : 'invalid_request_error',
                      param: null,
                      code: status === 429 ? 'rate_limit_exceeded' : null,
                    },
                  }),
                ],
        };
      }
      case 'gemini': {
        // SSE events end in \r\n\r\n (§5.4); without alt=sse the same objects form one JSON array.
        let frames = 0;
        const frame = (value: Json): string => (call.sse ? `data: ${JSON.stringify(value)}\r\n\r\n` : (frames++ === 0 ? '[' : ',\r\n') + JSON.stringify(value));
        const close = call.sse ? [] : [']'];
        let finalSent = false;
        const chunk = (text: string, candidates: number, final: boolean): string => {
          finalSent ||= final;
          const candidate = { content: { parts: [{ text }], role: 'model' }, ...(final ? { finishReason: a.limited ? 'MAX_TOKENS' : 'STOP' } : {}), index: 0 };
          return frame({ candidates: [candidate], usageMetadata: this.geminiUsage(a, candidates), modelVersion: call.model.id, responseId: `simResp${a.id}` });
        };
        return {
          headers: { 'Content-Type': call.sse ? 'text/event-stream' : 'application/json; charset=UTF-8' },
          head: [],
          thinking: (i) =>
            frame({
              candidates: [{ content: { parts: [{ text: `step ${i} `, thought: true }], role: 'model' }, index: 0 }],
              usageMetadata: this.geminiUsage(a, 0),
              modelVersion: call.model.id,
              responseId: `simResp${a.id}`,
            }),
          afterThinking: [],
          // The last text chunk carries finishReason and the final counts, as Gemini does.
          piece: (text, index, final) => chunk(text, index + 1, final),
          keepAlive: undefined,
          tail: () => [...(finalSent ? [] : [chunk('', a.pieces.length, true)]), ...close],
          error: (message, status) => [
            frame({
              error: {
                code: status ?? 500,
                message: message ?? 'An internal error has occurred. Please retry.',
                status: GOOGLE_STATUS[status ?? 500] ?? 'INTERNAL',
              },
            }),
            ...close,
          ],
        };
      }
    }
  }

  private async streamAnswer(
    res: http.ServerResponse,
    ex: Exchange,
    script: Script,
    pieces: string[],
    fault: Extract<CloudFault, { afterChunks: number }> | undefined,
  ): Promise<void> {
    const write = (frames: string[]): void => {
      if (!ex.closed && frames.length) res.write(frames.join(''));
    };
    res.writeHead(200, { ...this.providerHeaders(), ...script.headers });
    write(script.head);
    for (let i = 0; i < (this.options.thinkingChunks ?? 0); i++) {
      if (script.thinking) write([script.thinking(i)]);
      else res.flushHeaders();
      await pause(this.tokenDelayMs, ex.whenClosed);
      if (ex.closed) return;
    }
    write(script.afterThinking);
    const cut = fault ? Math.max(0, Math.min(fault.afterChunks, pieces.length)) : pieces.length;
    for (let i = 0; i < cut; i++) {
      if (i > 0 && script.keepAlive) write([script.keepAlive]);
      write([script.piece(pieces[i] ?? '', i, !fault && i === pieces.length - 1)]);
      if (i === 0) this.firstChunkWaiters.fire();
      await pause(this.tokenDelayMs, ex.whenClosed);
      if (ex.closed) return;
    }
    if (!fault) {
      write(script.tail());
    } else if (fault.kind === 'in-stream-error') {
      write(script.error(fault.message, fault.status));
    } else if (fault.kind === 'stall') {
      // Silence until the client gives up (or stop() closes the socket).
      res.flushHeaders();
      await ex.whenClosed;
      return;
    }
    ex.finished = true;
    res.end();
  }
}

import * as http from 'node:http';
import { closeServer, serveLocally } from './local-server';
import { Waiters } from './waiters';

/**
 * A local stand-in for an Ollama server, faithful to its wire format (see
 * shared/reference/provider-wire-formats.md §1): NDJSON streaming with a final `done` chunk and
 * its nanosecond counters, `{"error": ...}` bodies, 404 for unknown models, `stream` defaulting to
 * true. Test code only.
 */
export interface SimModel {
  name: string;
  family?: string;
  contextLength?: number;
  parameterSize?: string;
  sizeBytes?: number;
  /** What /api/show reports; embedding models say ["embedding"] and refuse /api/chat. */
  capabilities?: string[];
}

export interface OllamaSimulatorOptions {
  models?: SimModel[];
  version?: string;
  tokenDelayMs?: number;
  reply?: (model: string, messages: { role: string; content: string }[]) => string;
  /** Chunks of message.thinking (empty content) streamed before the answer, one every tokenDelayMs. */
  thinkingChunks?: number;
  /** Characters per chunk; default: one word (with its leading space) per chunk. */
  chunkSize?: number;
  port?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  options?: { num_predict?: unknown; num_ctx?: unknown };
}

const DEFAULT_MODELS: SimModel[] = [
  { name: 'llama3.2:latest', family: 'llama', contextLength: 131072, parameterSize: '3.2B', sizeBytes: 2019393189 },
  { name: 'qwen2.5-coder:7b', family: 'qwen2', contextLength: 32768, parameterSize: '7.6B', sizeBytes: 4683087332 },
];

const DIGEST = 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72';

function defaultReply(_model: string, messages: { role: string; content: string }[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return `Echo: ${last?.content ?? ''}`;
}

function split(text: string, chunkSize: number | undefined): string[] {
  if (chunkSize && chunkSize > 0) {
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) parts.push(text.slice(i, i + chunkSize));
    return parts;
  }
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

function countTokens(messages: { role: string; content: string }[]): number {
  return messages.reduce((sum, m) => sum + 4 + (m.content.match(/\S+/g)?.length ?? 0), 0);
}

/** Model name with Ollama's default tag applied, for lookups. */
function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

export class OllamaSimulator {
  readonly requests: RecordedRequest[] = [];
  private server: http.Server | undefined;
  private baseUrl = '';
  private models: SimModel[];
  private tokenDelayMs: number;
  private aborted = 0;
  private readonly abortWaiters = new Waiters('a chat stream to be aborted by its client');
  private readonly firstChunkWaiters = new Waiters('the first chat chunk');
  private failures: { status: number; message: string; retryAfterSec?: number }[] = [];
  private midStream: { message: string; afterChunks: number } | undefined;
  /** The next chat's transport fault: cut the body, go silent, hold the headers, or reset. */
  private streamFault: { kind: 'truncate' | 'stall'; afterChunks: number } | { kind: 'headers-delay'; ms: number } | { kind: 'reset' } | undefined;
  private chats = 0;
  private readonly loaded = new Map<string, number>();

  constructor(private options: OllamaSimulatorOptions = {}) {
    // A copy: pull and rm change this list, and must not leak into the next simulator.
    this.models = [...(options.models ?? DEFAULT_MODELS)];
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
  }

  get url(): string {
    return this.baseUrl;
  }

  get abortedStreams(): number {
    return this.aborted;
  }

  /** From now on, answers start with this many chunks of message.thinking. */
  setThinking(chunks: number): void {
    this.options.thinkingChunks = chunks;
  }

  setTokenDelay(ms: number): void {
    this.tokenDelayMs = ms;
  }

  failNext(status: number, message: string, count = 1, retryAfterSec?: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, message, ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) });
  }

  /** The next chat ends its body after `afterChunks` chunks without the final done chunk. */
  truncateNext(afterChunks: number): void {
    this.streamFault = { kind: 'truncate', afterChunks };
  }

  /** The next chat sends `afterChunks` chunks, then nothing until the client goes away. */
  stallNext(afterChunks: number): void {
    this.streamFault = { kind: 'stall', afterChunks };
  }

  delayHeadersNext(ms: number): void {
    this.streamFault = { kind: 'headers-delay', ms };
  }

  /** The next chat's connection is destroyed before any response. */
  resetNext(): void {
    this.streamFault = { kind: 'reset' };
  }

  chatCount(): number {
    return this.chats;
  }

  failMidStream(message: string, afterChunks: number): void {
    this.midStream = { message, afterChunks };
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
      (res, message) => this.error(res, 500, message),
      this.options.port,
    );
    this.server = server;
    this.baseUrl = `${origin}`;
    return this.baseUrl;
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return closeServer(server);
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private error(res: http.ServerResponse, status: number, message: string): void {
    this.json(res, status, { error: message });
  }

  private find(name: unknown): SimModel | undefined {
    if (typeof name !== 'string') return undefined;
    return this.models.find((m) => m.name === name || m.name === withTag(name));
  }

  private async readBody(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return undefined;
    return JSON.parse(text) as unknown;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = await this.readBody(req);
    } catch {
      this.requests.push({ method, path, body: undefined, headers: req.headers });
      this.error(res, 400, 'invalid character in request body');
      return;
    }
    this.requests.push({ method, path, body, headers: req.headers });
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(method === 'HEAD' ? undefined : 'Ollama is running');
        return;
      case 'GET /api/version':
      case 'HEAD /api/version':
        this.json(res, 200, { version: this.options.version ?? '0.12.6' });
        return;
      case 'GET /api/tags':
      case 'HEAD /api/tags':
        this.json(res, 200, { models: this.models.map((m) => this.tag(m)) });
        return;
      case 'GET /api/ps':
        this.json(res, 200, {
          models: this.models
            .filter((m) => this.loaded.has(m.name))
            .map((m) => {
              const rest = this.tag(m);
              delete rest.modified_at;
              return {
                ...rest,
                expires_at: new Date((this.loaded.get(m.name) ?? 0) + 300000).toISOString(),
                size_vram: m.sizeBytes ?? 0,
                context_length: m.contextLength ?? 4096,
              };
            }),
        });
        return;
      case 'POST /api/show':
        return this.show(body as { model?: unknown; name?: unknown } | undefined, res);
      case 'POST /api/chat':
        return this.chat(body as ChatBody | undefined, res);
      case 'POST /api/pull':
        return this.pull(body as { model?: unknown; name?: unknown; stream?: unknown } | undefined, res);
      case 'DELETE /api/delete': {
        const name = (body as { model?: unknown; name?: unknown } | undefined)?.model ?? (body as { name?: unknown } | undefined)?.name;
        const model = this.find(name);
        if (!model) return this.error(res, 404, `model '${String(name)}' not found`);
        this.models = this.models.filter((m) => m !== model);
        res.writeHead(200);
        res.end();
        return;
      }
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('404 page not found');
    }
  }

  private tag(m: SimModel): Record<string, unknown> {
    const family = m.family ?? m.name.split(/[:.\d]/)[0] ?? 'llama';
    return {
      name: m.name,
      model: m.name,
      modified_at: '2026-03-02T10:15:04.123456789+01:00',
      size: m.sizeBytes ?? 1000000000,
      digest: DIGEST,
      details: { parent_model: '', format: 'gguf', family, families: [family], parameter_size: m.parameterSize ?? '3B', quantization_level: 'Q4_K_M' },
    };
  }

  private show(body: { model?: unknown; name?: unknown } | undefined, res: http.ServerResponse): void {
    const name = body?.model ?? body?.name;
    const model = this.find(name);
    if (!model) return this.error(res, 404, `model '${String(name)}' not found`);
    const tag = this.tag(model);
    const family = (tag.details as { family: string }).family;
    this.json(res, 200, {
      modelfile: `FROM ${model.name}`,
      parameters: 'stop "<|eot_id|>"',
      template: '{{ .Prompt }}',
      details: tag.details,
      model_info: { 'general.architecture': family, [`${family}.context_length`]: model.contextLength ?? 4096, 'general.parameter_count': 3212749888 },
      capabilities: model.capabilities ?? ['completion', 'tools'],
      modified_at: tag.modified_at,
    });
  }

  private async chat(body: ChatBody | undefined, res: http.ServerResponse): Promise<void> {
    if (!body) return this.error(res, 400, 'missing request body');
    this.chats++;
    const fault = this.streamFault;
    this.streamFault = undefined;
    if (fault?.kind === 'reset') {
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === 'headers-delay') await new Promise((r) => setTimeout(r, fault.ms));
    const failure = this.failures.shift();
    if (failure) {
      if (failure.retryAfterSec !== undefined) res.setHeader('Retry-After', String(failure.retryAfterSec));
      return this.error(res, failure.status, failure.message);
    }
    const model = this.find(body.model);
    if (!model) return this.error(res, 404, `model '${String(body.model)}' not found`);
    if (model.capabilities && !model.capabilities.includes('completion')) return this.error(res, 400, `"${model.name}" does not support chat`);
    const messages = Array.isArray(body.messages) ? (body.messages as { role: string; content: string }[]) : [];
    const stream = body.stream !== false;
    const created = (): string => new Date().toISOString();
    this.loaded.set(model.name, Date.now());
    if (messages.length === 0) {
      this.json(res, 200, { model: model.name, created_at: created(), message: { role: 'assistant', content: '' }, done_reason: 'load', done: true });
      return;
    }
    let chunks = split((this.options.reply ?? defaultReply)(model.name, messages), this.options.chunkSize);
    const limit = typeof body.options?.num_predict === 'number' ? body.options.num_predict : undefined;
    const doneReason = limit !== undefined && chunks.length > limit ? 'length' : 'stop';
    if (limit !== undefined) chunks = chunks.slice(0, limit);
    // Like Ollama: a prompt longer than the window (num_ctx, else the 4096 default, never beyond
    // the model's trained length) is cut to fit, and prompt_eval_count shows only what was kept.
    const requested = typeof body.options?.num_ctx === 'number' ? body.options.num_ctx : 4096;
    const numCtx = Math.min(requested, model.contextLength ?? 4096);
    const promptCount = Math.min(countTokens(messages), numCtx);
    const final = {
      model: model.name,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: doneReason,
      total_duration: 812000000,
      load_duration: 21000000,
      prompt_eval_count: promptCount,
      prompt_eval_duration: 95000000,
      eval_count: chunks.length,
      eval_duration: 30000000 * Math.max(1, chunks.length),
    };
    if (!stream) {
      this.json(res, 200, { ...final, created_at: created(), message: { role: 'assistant', content: chunks.join('') } });
      return;
    }
    const midStream = this.midStream;
    this.midStream = undefined;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    let finished = false;
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (!finished) {
        this.aborted++;
        this.abortWaiters.fire();
      }
    });
    for (let i = 0; i < (this.options.thinkingChunks ?? 0); i++) {
      if (closed) return;
      res.write(
        JSON.stringify({ model: model.name, created_at: created(), message: { role: 'assistant', content: '', thinking: `step ${i} ` }, done: false }) + '\n',
      );
      if (this.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    }
    for (let i = 0; i < chunks.length; i++) {
      if (closed) return;
      if (fault && (fault.kind === 'truncate' || fault.kind === 'stall') && i === fault.afterChunks) {
        if (fault.kind === 'truncate') {
          finished = true;
          res.end();
        }
        // A stall leaves the response open; the client's abort closes it (counted above).
        return;
      }
      if (midStream && i === midStream.afterChunks) {
        finished = true;
        res.end(JSON.stringify({ error: midStream.message }) + '\n');
        return;
      }
      res.write(JSON.stringify({ model: model.name, created_at: created(), message: { role: 'assistant', content: chunks[i] }, done: false }) + '\n');
      if (i === 0) this.firstChunkWaiters.fire();
      if (this.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    }
    if (closed) return;
    finished = true;
    res.end(JSON.stringify({ ...final, created_at: created() }) + '\n');
  }

  private async pull(body: { model?: unknown; name?: unknown; stream?: unknown } | undefined, res: http.ServerResponse): Promise<void> {
    const raw = body?.model ?? body?.name;
    const name = typeof raw === 'string' ? raw : '';
    const stream = body?.stream !== false;
    const known = /^(llama|qwen|mistral|phi|gemma)/.test(name);
    if (!stream) {
      if (!known) return this.error(res, 500, 'pull model manifest: file does not exist');
      if (!this.find(name)) this.models.push({ name: withTag(name) });
      return this.json(res, 200, { status: 'success' });
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write(JSON.stringify({ status: 'pulling manifest' }) + '\n');
    if (!known) {
      res.end(JSON.stringify({ error: 'pull model manifest: file does not exist' }) + '\n');
      return;
    }
    const total = 4 * 1048576;
    for (let completed = 0; completed <= total; completed += 1048576) {
      res.write(JSON.stringify({ status: `pulling ${DIGEST.slice(0, 12)}`, digest: `sha256:${DIGEST}`, total, ...(completed ? { completed } : {}) }) + '\n');
      if (this.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    }
    for (const status of ['verifying sha256 digest', 'writing manifest', 'success']) res.write(JSON.stringify({ status }) + '\n');
    if (!this.find(name)) this.models.push({ name: withTag(name) });
    res.end();
  }
}

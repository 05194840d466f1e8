import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { AidRpcError, RpcConnection } from './rpc';

/** The protocol this extension speaks (docs/protocol.md, protocol/schema/aid-protocol.schema.json). */
export const PROTOCOL_VERSION = 3;
export const EXTENSION_VERSION = '0.1.0';

/** The contract's socket path: $AID_SOCKET, else $XDG_RUNTIME_DIR/aid/aid.sock, else /tmp/aid-$UID/aid.sock. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AID_SOCKET) return env.AID_SOCKET;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'aid', 'aid.sock');
  return `/tmp/aid-${process.getuid?.() ?? 0}/aid.sock`;
}

export interface Position {
  line: number;
  character: number;
}

/** What the editor shows, sent with a question (the protocol's EditorContext). */
export interface EditorContext {
  file?: string;
  language?: string;
  text?: string;
  selection?: { start: Position; end: Position; text: string };
  cursor?: Position;
}

export interface AskRequest {
  prompt: string;
  model?: string;
  sessionId?: string;
  newSession?: boolean;
  project?: string;
  editor?: EditorContext;
}

export interface AskStart {
  ref: string;
  sessionId: string;
}

/** The result of aid/ask: the fields of `aic ask --json`'s done line and more. */
export interface AskDone {
  ref: string;
  sessionId: string;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; reasoningTokens: number };
  costUsd: number | null;
  latencyMs: number;
  ttftMs: number | null;
  finishReason: string;
  context?: { files: { path: string; from?: string }[]; tokensUsed: number; tokenBudget: number };
}

export interface AskNotice {
  kind: 'failover' | 'retry' | 'warning';
  message: string;
}

export interface AskHandlers {
  onStart?(start: AskStart): void;
  onDelta?(text: string): void;
  onNotice?(notice: AskNotice): void;
}

/** A running ask: its answer, and how to stop it. */
export interface AskHandle {
  done: Promise<AskDone>;
  cancel(): void;
}

export interface ModelChoice {
  ref: string;
  contextWindow?: number;
  price: { inputPerMTok: number; outputPerMTok: number } | 'free' | 'unpriced';
}

export interface AidServiceOptions {
  socketPath?: string;
  /** How to start the daemon when none answers: the program and its first arguments (`start` is added). */
  aidCommand?: string[];
  env?: NodeJS.ProcessEnv;
  requestTimeoutMs?: number;
  /** How long the status text is kept before it is asked again. */
  statusRefreshMs?: number;
}

/** Dollars as aid shows them (protocol/money.ts): whole cents from $1, else up to six decimals. */
export function formatUsd(value: number): string {
  if (value === 0) return '$0';
  if (Math.abs(value) >= 1) return `$${value.toFixed(2)}`;
  const fixed = value.toFixed(6).replace(/0+$/, '');
  return `$${fixed.length - fixed.indexOf('.') - 1 < 2 ? value.toFixed(2) : fixed}`;
}

/**
 * Everything the extension does with the daemon, without the `vscode` API: one connection made
 * when first needed (starting the daemon with `aid start` when none answers), asks streamed by
 * their token, the status text (cached, never waited for), the chat models.
 */
export class AidService {
  private connection: RpcConnection | undefined;
  private connecting: Promise<RpcConnection> | undefined;
  private readonly streams = new Map<string, AskHandlers>();
  private readonly running = new Set<AskHandle>();
  private tokens = 0;
  private status = { text: '', at: 0, busy: false };
  private readonly statusListeners: ((text: string) => void)[] = [];

  constructor(private readonly options: AidServiceOptions = {}) {}

  get socketPath(): string {
    return this.options.socketPath || defaultSocketPath(this.options.env ?? process.env);
  }

  private get timeoutMs(): number {
    return this.options.requestTimeoutMs ?? 10_000;
  }

  /** The handshaken connection; the daemon is started when none answers, unless `noStart`. */
  async connect(noStart = false): Promise<RpcConnection> {
    if (this.connection && !this.connection.closed) return this.connection;
    if (!this.connecting) {
      this.connecting = this.open(noStart).finally(() => (this.connecting = undefined));
    }
    const connection = await this.connecting;
    return connection;
  }

  private async open(noStart: boolean): Promise<RpcConnection> {
    let connection: RpcConnection;
    try {
      connection = await RpcConnection.open(this.socketPath);
    } catch (error) {
      if (noStart) throw error;
      await this.startDaemon();
      connection = await RpcConnection.open(this.socketPath);
    }
    connection.onNotification('aid/ask/start', (p) => {
      const start = p as AskStart & { streamToken: string };
      this.streams.get(start.streamToken)?.onStart?.({ ref: start.ref, sessionId: start.sessionId });
    });
    connection.onNotification('aid/ask/delta', (p) => {
      const delta = p as { streamToken: string; text: string };
      if (delta.text) this.streams.get(delta.streamToken)?.onDelta?.(delta.text);
    });
    connection.onNotification('aid/ask/notice', (p) => {
      const notice = p as AskNotice & { streamToken: string };
      this.streams.get(notice.streamToken)?.onNotice?.(notice);
    });
    connection.onNotification('aid/alert', () => (this.status.at = 0));
    connection.onClose(() => {
      if (this.connection === connection) this.connection = undefined;
      this.setStatus('');
    });
    try {
      await connection.request(
        'aid/handshake',
        {
          clientVersion: EXTENSION_VERSION,
          protocolVersion: PROTOCOL_VERSION,
          client: 'vscode',
          capabilities: ['ask.stream', 'ask.start', 'ask.notice', 'ask.editor'],
        },
        this.timeoutMs,
      );
    } catch (error) {
      connection.close('handshake refused');
      throw error;
    }
    this.connection = connection;
    return connection;
  }

  private startDaemon(): Promise<void> {
    const [program, ...args] = this.options.aidCommand ?? ['aid'];
    return new Promise((resolve, reject) => {
      execFile(
        program,
        [...args, 'start'],
        { env: { ...(this.options.env ?? process.env), AID_SOCKET: this.socketPath }, timeout: 30_000 },
        (error, _stdout, stderr) => {
          if (!error) return resolve();
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            new AidRpcError(
              -1,
              missing
                ? `cannot run ${program}: install aid (npm install -g) or set aid.command in the settings`
                : `\`${program} start\` failed: ${stderr.trim() || error.message}`,
            ),
          );
        },
      );
    });
  }

  /** A request other than an ask, with the configured timeout. */
  async request<R>(method: string, params: object = {}): Promise<R> {
    return (await this.connect()).request<R>(method, params, this.timeoutMs);
  }

  /** Asks; text and news reach `handlers` as they come. */
  ask(request: AskRequest, handlers: AskHandlers = {}): AskHandle {
    const streamToken = `vscode-${process.pid}-${++this.tokens}`;
    let id: number | undefined;
    let connection: RpcConnection | undefined;
    let cancelled = false;
    // The handle is known to the stream's own bookkeeping before the request goes out.
    const self: { handle?: AskHandle } = {};
    const handle: AskHandle = {
      done: (async () => {
        connection = await this.connect();
        if (cancelled) throw new AidRpcError(-32800, 'request cancelled');
        this.streams.set(streamToken, handlers);
        try {
          return await connection.request<AskDone>('aid/ask', { ...request, streamToken }, undefined, (requestId) => (id = requestId));
        } finally {
          this.streams.delete(streamToken);
          if (self.handle) this.running.delete(self.handle);
          this.status.at = 0;
        }
      })(),
      cancel: () => {
        cancelled = true;
        if (connection && id !== undefined) connection.notify('$/cancelRequest', { id });
      },
    };
    self.handle = handle;
    this.running.add(handle);
    handle.done.catch(() => undefined);
    return handle;
  }

  /** Stops every running ask; returns how many. */
  cancelAll(): number {
    const n = this.running.size;
    for (const handle of this.running) handle.cancel();
    return n;
  }

  /** Chat models of every host, for a picker (embedding models cannot answer). */
  async chatModels(): Promise<ModelChoice[]> {
    const listed = await this.request<{ models: (ModelChoice & { kind?: string })[] }>('aid/models');
    return listed.models
      .filter((m) => m.kind !== 'embedding')
      .map(({ ref, contextWindow, price }) => ({ ref, price, ...(contextWindow ? { contextWindow } : {}) }));
  }

  /** What an ask without a model would use, and why. */
  async defaultModel(): Promise<{ ref?: string; why: string }> {
    return (await this.request<{ defaultModel: { ref?: string; why: string } }>('aid/status')).defaultModel;
  }

  onStatus(listener: (text: string) => void): void {
    this.statusListeners.push(listener);
  }

  private setStatus(text: string): void {
    const changed = text !== this.status.text;
    this.status = { text, at: Date.now(), busy: false };
    if (changed) for (const listener of this.statusListeners) listener(text);
  }

  /**
   * Today's spend and the tightest budget, e.g. `aid $0.42 today · daily $4.58 left`: the cached
   * text at once, asked again in the background when older than statusRefreshMs; '' while the
   * daemon is down (the status never starts it).
   */
  statusText(): string {
    const s = this.status;
    if (!s.busy && Date.now() - s.at >= (this.options.statusRefreshMs ?? 30_000)) void this.refreshStatus();
    return s.text;
  }

  /** Asks for the status text now; resolves with it. */
  async refreshStatus(): Promise<string> {
    this.status.busy = true;
    try {
      const connection = await this.connect(true);
      const cost = await connection.request<{ totalUsd: number }>('aid/cost', { since: 'today' }, this.timeoutMs);
      const budgets = await connection.request<{ name: string; limitUsd: number; leftUsd: number }[]>('aid/budget/list', {}, this.timeoutMs);
      const tightest = budgets.map((b) => ({ b, share: b.limitUsd > 0 ? b.leftUsd / b.limitUsd : 0 })).sort((x, y) => x.share - y.share)[0]?.b;
      const text = `aid ${formatUsd(cost.totalUsd)} today${tightest ? ` · ${tightest.name} ${formatUsd(Math.max(0, tightest.leftUsd))} left` : ''}`;
      this.setStatus(text);
      return text;
    } catch {
      this.setStatus('');
      return '';
    }
  }

  dispose(): void {
    this.cancelAll();
    this.connection?.close('extension stopped');
  }
}

/** One conversation: each message continues the session of the one before (known from the start of its answer). */
export class ChatSession {
  sessionId: string | undefined;
  readonly turns: { prompt: string; answer: string; done?: AskDone; error?: string }[] = [];

  constructor(
    private readonly service: AidService,
    sessionId?: string,
  ) {
    this.sessionId = sessionId;
  }

  send(prompt: string, extra: Omit<AskRequest, 'prompt' | 'sessionId'>, handlers: AskHandlers = {}): AskHandle {
    const turn: (typeof this.turns)[number] = { prompt, answer: '' };
    this.turns.push(turn);
    const handle = this.service.ask(
      { ...extra, prompt, ...(this.sessionId ? { sessionId: this.sessionId } : { newSession: true }) },
      {
        ...handlers,
        onStart: (start) => {
          this.sessionId = start.sessionId;
          handlers.onStart?.(start);
        },
        onDelta: (text) => {
          turn.answer += text;
          handlers.onDelta?.(text);
        },
      },
    );
    handle.done.then(
      (done) => (turn.done = done),
      (error: Error) => (turn.error = error.message),
    );
    return handle;
  }
}

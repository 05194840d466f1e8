import * as diagnostics from 'node:diagnostics_channel';
import type * as http from 'node:http';

/** One NDJSON line the simulator wrote on a /api/chat response, as it went onto the wire. */
export type ChatLine = Record<string, unknown> & { done?: boolean };

/**
 * Watches what an in-process HTTP server (the Ollama simulator) writes on its /api/chat
 * responses, line by line, as it writes them: through Node's own `http.server.request.start`
 * diagnostics channel, so neither the simulator nor the daemon is touched. `onLine` sees every
 * line in order, the final `done` line included; `lines` keeps them. Call `close()` when done.
 */
export class ChatWireTap {
  readonly lines: ChatLine[] = [];
  private readonly listener: diagnostics.ChannelListener;

  constructor(baseUrl: string, onLine: (line: ChatLine) => void = () => undefined) {
    const port = Number(new URL(baseUrl).port);
    this.listener = (message: unknown) => {
      const { request, response } = message as { request: http.IncomingMessage; response: http.ServerResponse };
      if (request.socket.localPort !== port || !(request.url ?? '').startsWith('/api/chat')) return;
      let pending = '';
      const take = (chunk: unknown): void => {
        if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk)) return;
        pending += chunk.toString();
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const text = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!text) continue;
          const line = JSON.parse(text) as ChatLine;
          this.lines.push(line);
          onLine(line);
        }
      };
      const write = response.write.bind(response) as (...args: unknown[]) => boolean;
      const end = response.end.bind(response) as (...args: unknown[]) => http.ServerResponse;
      response.write = (...args: unknown[]) => {
        take(args[0]);
        return write(...args);
      };
      response.end = (...args: unknown[]) => {
        if (typeof args[0] !== 'function') take(args[0]);
        take('\n');
        return end(...args);
      };
    };
    diagnostics.subscribe('http.server.request.start', this.listener);
  }

  /** The final chunks (`done: true`) written so far. */
  doneLines(): ChatLine[] {
    return this.lines.filter((l) => l.done === true);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.request.start', this.listener);
  }
}

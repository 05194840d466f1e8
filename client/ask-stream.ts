import { randomUUID } from 'node:crypto';
import {
  AskDeltaNotification,
  AskNoticeNotification,
  AskRequest,
  AskStartNotification,
  type AskNoticeParams,
  type AskParams,
  type AskResult,
  type AskStartParams,
} from '../protocol/chat';
import type { RpcConnection } from './rpc';

export interface AskHandlers {
  onDelta(text: string): void;
  onNotice(notice: AskNoticeParams): void;
  /** The session and model, once the question goes out (before any text). */
  onStart?(start: AskStartParams): void;
}

/**
 * Runs asks over one connection. The connection keeps a single handler per notification method,
 * so this routes each `aid/ask/start`, `aid/ask/delta` and `aid/ask/notice` to the ask whose stream token it
 * carries: `aic ask` runs one, `aic chat` one after another on the same connection.
 */
export class AskStreams {
  private readonly active = new Map<string, AskHandlers>();

  constructor(private readonly rpc: RpcConnection) {
    rpc.onNotification(AskDeltaNotification, (delta) => {
      if (delta.text) this.active.get(delta.streamToken)?.onDelta(delta.text);
    });
    rpc.onNotification(AskNoticeNotification, (notice) => this.active.get(notice.streamToken)?.onNotice(notice));
    rpc.onNotification(AskStartNotification, (start) => this.active.get(start.streamToken)?.onStart?.(start));
  }

  async ask(params: Omit<AskParams, 'streamToken'>, handlers: AskHandlers, signal?: AbortSignal): Promise<AskResult> {
    const streamToken = randomUUID();
    this.active.set(streamToken, handlers);
    try {
      return await this.rpc.request(AskRequest, { ...params, streamToken }, signal);
    } finally {
      this.active.delete(streamToken);
    }
  }
}

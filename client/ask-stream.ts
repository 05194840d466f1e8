import { randomUUID } from 'node:crypto';
import { AskDeltaNotification, AskNoticeNotification, AskRequest, type AskNoticeParams, type AskParams, type AskResult } from '../protocol/chat';
import type { RpcConnection } from './rpc';

export interface AskHandlers {
  onDelta(text: string): void;
  onNotice(notice: AskNoticeParams): void;
}

/**
 * Runs asks over one connection. The connection keeps a single handler per notification method,
 * so this routes each `aid/ask/delta` and `aid/ask/notice` to the ask whose stream token it
 * carries: `aic ask` runs one, `aic chat` one after another on the same connection.
 */
export class AskStreams {
  private readonly active = new Map<string, AskHandlers>();

  constructor(private readonly rpc: RpcConnection) {
    rpc.onNotification(AskDeltaNotification, (delta) => {
      if (delta.text) this.active.get(delta.streamToken)?.onDelta(delta.text);
    });
    rpc.onNotification(AskNoticeNotification, (notice) => this.active.get(notice.streamToken)?.onNotice(notice));
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

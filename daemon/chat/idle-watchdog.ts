import { ProviderError } from '../providers/types';

/**
 * Abandons a stream that goes silent: firstMs of silence before the first text (any event, such as
 * a chunk of thinking, restarts it), idleMs once text flows. There is no limit on the whole
 * request: a long answer that keeps streaming is never cut. One timer per stream: an event only
 * moves the deadline, and a timer that fires early sleeps again for the rest (re-arming per token
 * showed at a hundred streams).
 */
export class IdleWatchdog {
  private readonly controller = new AbortController();
  private deadline: number;
  private window: number;
  private timer: NodeJS.Timeout;
  private textSeen = false;
  timedOut: ProviderError | undefined;

  constructor(
    private readonly host: string,
    private readonly idleMs: number,
    firstMs: number,
  ) {
    this.window = firstMs;
    this.deadline = Date.now() + firstMs;
    this.timer = setTimeout(this.check, firstMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** An event arrived; `text` when it was part of the answer. */
  heard(text: boolean): void {
    if (text && !this.textSeen) {
      // The first text: from now on the (shorter) idle window, whose deadline the pending
      // first-text timer would pass.
      this.textSeen = true;
      this.window = this.idleMs;
      clearTimeout(this.timer);
      this.timer = setTimeout(this.check, this.idleMs);
    }
    this.deadline = Date.now() + this.window;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    const left = this.deadline - Date.now();
    if (left > 0) {
      this.timer = setTimeout(this.check, left);
      return;
    }
    this.timedOut = new ProviderError('timeout', `host ${this.host} sent nothing for ${Math.round(this.window / 1000)} s; abandoned the request`);
    this.controller.abort(this.timedOut);
  };
}

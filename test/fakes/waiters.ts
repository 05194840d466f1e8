/**
 * Promises for events a simulator will see (a first chunk, a client going away), for tests to
 * await instead of sleeping. Only events after the wait began count.
 */
export class Waiters {
  private readonly pending: (() => void)[] = [];

  constructor(private readonly what: string) {}

  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator: timed out waiting for ${this.what}`)), timeoutMs);
      this.pending.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  fire(): void {
    for (const waiter of this.pending.splice(0)) waiter();
  }
}

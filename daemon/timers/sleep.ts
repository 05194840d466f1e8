/**
 * Waits `ms`, or less when `signal` fires (then rejects with `abortError()`). The abort listener is
 * removed either way, so a long-lived signal (a connection's) does not collect one per wait.
 */
export function abortableSleep(ms: number, signal: AbortSignal, abortError: () => Error = () => new Error('aborted')): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Writes asked while the store is being written back wait here, then run in the order they were
 * asked, all in one go, so a write asked later cannot overtake one that waited.
 */
export class WriteHold {
  private readonly waiting: (() => void)[] = [];

  defer<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push(() => {
        try {
          run().then(resolve, reject);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  release(): void {
    for (const run of this.waiting.splice(0)) run();
  }
}

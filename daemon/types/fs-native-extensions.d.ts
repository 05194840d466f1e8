/** The part of fs-native-extensions aid uses (the package ships no types). */
declare module 'fs-native-extensions' {
  /**
   * An open-file-description lock (Linux: fcntl F_OFD_SETLK) on the whole file when `length` is 0.
   * Returns false when another open file holds a conflicting lock.
   */
  export function tryLock(fd: number, offset?: number, length?: number, options?: { shared?: boolean }): boolean;
  export function unlock(fd: number, offset?: number, length?: number): void;
}

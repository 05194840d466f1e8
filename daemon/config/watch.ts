import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Calls `onChange` (debounced) when the config file is created, changed, replaced or removed.
 * Watches the directory, not the file: editors save by rename, which ends a file watch.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 150): { close(): void } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: fs.FSWatcher | undefined;
  try {
    // A config written after start must be noticed too: its directory has to exist to be watched.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
      if (name !== null && name !== base) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // The directory cannot be made or watched (read-only home?): `aid reload` still works.
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

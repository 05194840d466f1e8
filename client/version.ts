import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The package root (holds package.json and daemon/bin/aid.js). Found by walking up because the
 * client runs both as compiled modules (dist/client/) and as one bundled file (dist/aic.js).
 */
function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'aid') return dir;
    } catch {
      /* keep walking */
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find aid's package.json above ${start}`);
  }
}

export const PACKAGE_ROOT = findRoot(__dirname);

let cached: string | undefined;
export function clientVersion(): string {
  cached ??= (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}

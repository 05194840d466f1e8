import * as fs from 'node:fs';
import * as path from 'node:path';

/** The build version from package.json (dist/daemon/… → package root). */
export function readVersion(): string {
  for (const candidate of [path.join(__dirname, '..', '..', 'package.json'), path.join(__dirname, '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'aid' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0-unknown';
}

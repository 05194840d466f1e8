import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root from dist/client/ (holds package.json and daemon/bin/aid.js). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let cached: string | undefined;
export function clientVersion(): string {
  cached ??= (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}

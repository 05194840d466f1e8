import * as fs from 'node:fs';
import { configSchema, formatIssues, type AidConfig } from './schema';

export type ConfigLoad = { ok: true; config: AidConfig; file: string; exists: boolean } | { ok: false; file: string; issues: string[] };

/** Reads and validates the config file; a missing file means defaults. Never throws. */
export function loadConfig(file: string): ConfigLoad {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, config: configSchema.parse({}), file, exists: false };
    return { ok: false, file, issues: [`cannot read the file (${code ?? String(error)}); check its permissions`] };
  }
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    return { ok: false, file, issues: [`invalid JSON: ${(error as Error).message}`] };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, file, issues: formatIssues(parsed.error) };
  return { ok: true, config: parsed.data, file, exists: true };
}

/** `next` is the command that applies the fixed file: `aid reload` for a running daemon, `aid start` when it never started. */
export function describeConfigError(file: string, issues: string[], next = 'aid reload'): string {
  return `invalid config ${file}:\n${issues.map((i) => `  - ${i}`).join('\n')}\nFix the file (or move it away to use defaults), then run \`${next}\`.`;
}

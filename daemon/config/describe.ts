import type { ConfigValue } from '../../protocol/daemon';
import { redactUrlText } from './urls';

/** Keys whose values are secrets even in a file: shown as set, never shown. */
const SECRET_KEYS = new Set(['alerts.webhookUrl']);

/**
 * The effective config as `aic config` shows it: every leaf value under its dotted key, and whether
 * it came from the file or is the default. Secrets (a webhook URL's token, credentials in a URL)
 * are never shown; keys themselves never live in the config (only the names of their variables).
 */
export function describeConfig(effective: unknown, fromFile: unknown): ConfigValue[] {
  const out: ConfigValue[] = [];
  const walk = (value: unknown, raw: unknown, key: string): void => {
    // A record the user fills (hosts, prices, aliases) is shown whole per entry; objects of the schema are walked.
    if (isObject(value) && !isUserRecord(key)) {
      for (const [name, child] of Object.entries(value)) walk(child, isObject(raw) ? raw[name] : undefined, key ? `${key}.${name}` : name);
      return;
    }
    out.push({ key, value: shown(key, value), source: raw === undefined ? 'default' : 'file' });
  };
  walk(effective, fromFile, '');
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUserRecord(key: string): boolean {
  return /^(hosts|prices|aliases)\.[^.]+$/.test(key);
}

function shown(key: string, value: unknown): unknown {
  if (SECRET_KEYS.has(key)) return value === undefined ? undefined : '(set, not shown)';
  return JSON.parse(redactUrlText(JSON.stringify(value ?? null))) as unknown;
}

import type { ProviderKind } from '../../protocol/hosts';
import type { AidConfig } from '../config/schema';

/** A host as configured: where it is and how to authenticate. Health lives in the registry. */
export interface HostDefinition {
  name: string;
  provider: ProviderKind;
  baseUrl: string;
  apiKey?: string;
  /** The environment variable the key comes from, for "set X" hints; undefined for Ollama. */
  keyEnv?: string[];
  builtIn: boolean;
}

type Env = Record<string, string | undefined>;

/** Accepts `host`, `host:port`, `:port` and full URLs, as OLLAMA_HOST does. */
export function normalizeOllamaUrl(value: string | undefined): string {
  const raw = (value ?? '').trim();
  if (!raw) return 'http://127.0.0.1:11434';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw.startsWith(':') ? `127.0.0.1${raw}` : raw}`;
  const url = new URL(withScheme);
  // Without a scheme, the port defaults to Ollama's; an explicit scheme keeps its own default.
  if (!url.port && withScheme !== raw) url.port = '11434';
  return url.toString().replace(/\/+$/, '');
}

const BUILT_INS: { name: ProviderKind; keyEnv?: string[]; urlEnv: string; defaultUrl: string }[] = [
  { name: 'anthropic', keyEnv: ['ANTHROPIC_API_KEY'], urlEnv: 'ANTHROPIC_BASE_URL', defaultUrl: 'https://api.anthropic.com' },
  { name: 'openai', keyEnv: ['OPENAI_API_KEY'], urlEnv: 'OPENAI_BASE_URL', defaultUrl: 'https://api.openai.com/v1' },
  { name: 'gemini', keyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], urlEnv: 'GEMINI_BASE_URL', defaultUrl: 'https://generativelanguage.googleapis.com' },
  { name: 'openrouter', keyEnv: ['OPENROUTER_API_KEY'], urlEnv: 'OPENROUTER_BASE_URL', defaultUrl: 'https://openrouter.ai/api/v1' },
  { name: 'ollama', urlEnv: 'OLLAMA_HOST', defaultUrl: 'http://127.0.0.1:11434' },
];

/** The built-in hosts from the conventional environment variables, then the config's extra hosts. */
export function defineHosts(env: Env, config: AidConfig): HostDefinition[] {
  const hosts: HostDefinition[] = BUILT_INS.map((b) => {
    const key = b.keyEnv?.map((k) => env[k]).find((v) => v && v.trim());
    const baseUrl = b.name === 'ollama' ? normalizeOllamaUrl(env[b.urlEnv]) : (env[b.urlEnv] || b.defaultUrl).replace(/\/+$/, '');
    return { name: b.name, provider: b.name, baseUrl, builtIn: true, ...(key ? { apiKey: key } : {}), ...(b.keyEnv ? { keyEnv: b.keyEnv } : {}) };
  });
  for (const [name, host] of Object.entries(config.hosts)) {
    // Without apiKeyEnv, the provider's own variable: the one the "set ..." hint names.
    const keyEnv = host.apiKeyEnv ? [host.apiKeyEnv] : BUILT_INS.find((b) => b.name === host.provider)?.keyEnv;
    const key = keyEnv?.map((k) => env[k]).find((v) => v && v.trim());
    hosts.push({
      name,
      provider: host.provider,
      baseUrl: host.provider === 'ollama' ? normalizeOllamaUrl(host.baseUrl) : host.baseUrl.replace(/\/+$/, ''),
      builtIn: false,
      ...(key ? { apiKey: key } : {}),
      ...(keyEnv ? { keyEnv } : {}),
    });
  }
  return hosts;
}

/** True when the host has what it needs to be called (Ollama needs no key). */
export function isConfigured(host: HostDefinition): boolean {
  return host.provider === 'ollama' || Boolean(host.apiKey);
}

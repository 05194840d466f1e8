import type { ProviderKind } from '../../protocol/hosts';
import type { AidConfig } from '../config/schema';
import { normalizeApiUrl, normalizeOllamaUrl, redactUrlText, splitCredentials } from '../config/urls';

export { normalizeOllamaUrl } from '../config/urls';

/** A host as configured: where it is and how to authenticate. Health lives in the registry. */
export interface HostDefinition {
  name: string;
  provider: ProviderKind;
  /** Where to connect, never with credentials in it: safe to show. */
  baseUrl: string;
  apiKey?: string;
  /** A Basic `Authorization` header from `user:pass@` in the configured URL; a secret. */
  basicAuth?: string;
  /** Secret parts of the configured URL, for the log redactor. */
  urlSecrets?: string[];
  /** Why the configured URL cannot be used (a bad OLLAMA_HOST); the host is then unusable. */
  urlError?: string;
  /** The environment variable the key comes from, for "set X" hints; undefined for Ollama. */
  keyEnv?: string[];
  builtIn: boolean;
}

type Env = Record<string, string | undefined>;

const BUILT_INS: { name: ProviderKind; keyEnv?: string[]; urlEnv: string; defaultUrl: string }[] = [
  { name: 'anthropic', keyEnv: ['ANTHROPIC_API_KEY'], urlEnv: 'ANTHROPIC_BASE_URL', defaultUrl: 'https://api.anthropic.com' },
  { name: 'openai', keyEnv: ['OPENAI_API_KEY'], urlEnv: 'OPENAI_BASE_URL', defaultUrl: 'https://api.openai.com/v1' },
  { name: 'gemini', keyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], urlEnv: 'GEMINI_BASE_URL', defaultUrl: 'https://generativelanguage.googleapis.com' },
  { name: 'openrouter', keyEnv: ['OPENROUTER_API_KEY'], urlEnv: 'OPENROUTER_BASE_URL', defaultUrl: 'https://openrouter.ai/api/v1' },
  { name: 'ollama', urlEnv: 'OLLAMA_HOST', defaultUrl: 'http://127.0.0.1:11434' },
];

/** Every environment variable the built-in hosts read (keys and base URLs). */
export const BUILT_IN_ENV: readonly string[] = BUILT_INS.flatMap((b) => [...(b.keyEnv ?? []), b.urlEnv]);

/** The built-in hosts from the conventional environment variables, then the config's extra hosts. */
export function defineHosts(env: Env, config: AidConfig): HostDefinition[] {
  const hosts: HostDefinition[] = BUILT_INS.map((b) => {
    const key = b.keyEnv?.map((k) => env[k]).find((v) => v && v.trim());
    const raw = b.name === 'ollama' ? env[b.urlEnv] : env[b.urlEnv] || b.defaultUrl;
    const url = hostUrl(raw, b.name === 'ollama', b.defaultUrl, b.urlEnv);
    return { name: b.name, provider: b.name, builtIn: true, ...url, ...(key ? { apiKey: key } : {}), ...(b.keyEnv ? { keyEnv: b.keyEnv } : {}) };
  });
  for (const [name, host] of Object.entries(config.hosts)) {
    // Without apiKeyEnv, the provider's own variable: the one the "set ..." hint names.
    const keyEnv = host.apiKeyEnv ? [host.apiKeyEnv] : BUILT_INS.find((b) => b.name === host.provider)?.keyEnv;
    const key = keyEnv?.map((k) => env[k]).find((v) => v && v.trim());
    hosts.push({
      name,
      provider: host.provider,
      // The schema checked the URL; a failure here would be a bug, and it still must not crash the daemon.
      ...hostUrl(host.baseUrl, host.provider === 'ollama', host.baseUrl, `hosts.${name}.baseUrl`),
      builtIn: false,
      ...(key ? { apiKey: key } : {}),
      ...(keyEnv ? { keyEnv } : {}),
    });
  }
  return hosts;
}

/** True when the host has what it needs to be called (Ollama needs no key). */
export function isConfigured(host: HostDefinition): boolean {
  return host.urlError === undefined && (host.provider === 'ollama' || Boolean(host.apiKey));
}

/**
 * A configured URL as a host uses it: normalised, its credentials split off. A URL that cannot be
 * used leaves the host unusable with the reason (`source` names the variable or key to fix), and
 * shows the fallback so nothing secret in the bad value is echoed.
 */
function hostUrl(
  raw: string | undefined,
  ollama: boolean,
  fallback: string,
  source: string,
): Pick<HostDefinition, 'baseUrl' | 'basicAuth' | 'urlSecrets' | 'urlError'> {
  try {
    const split = splitCredentials(ollama ? normalizeOllamaUrl(raw) : normalizeApiUrl(raw ?? fallback));
    return { baseUrl: split.url, ...(split.basicAuth ? { basicAuth: split.basicAuth, urlSecrets: split.secrets } : {}) };
  } catch (error) {
    return { baseUrl: redactUrlText(raw ?? fallback), urlError: `${source}: ${(error as Error).message}` };
  }
}

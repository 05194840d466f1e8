/**
 * Host URLs as users write them (config `baseUrl`, OLLAMA_HOST and the providers' *_BASE_URL
 * variables): parsed once, checked where they are read, and split into what may be shown and what
 * must stay secret. fetch refuses URLs that carry credentials, so `user:pass@` becomes a Basic
 * `Authorization` header instead, and every place that shows a URL shows it without them.
 */

/** A host's URL, ready to connect to and to show. */
export interface HostUrl {
  /** Without credentials: what adapters connect to and what status, logs and errors show. */
  url: string;
  /** `Basic …` built from `user:pass@` in the URL, when it had any; a secret. */
  basicAuth?: string;
  /** The password part, for the log redactor (the header's base64 is registered too). */
  secrets: string[];
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Accepts `host`, `host:port`, `:port` and full URLs, as OLLAMA_HOST does; throws on nonsense. */
export function normalizeOllamaUrl(value: string | undefined): string {
  const raw = (value ?? '').trim();
  if (!raw) return 'http://127.0.0.1:11434';
  const withScheme = SCHEME.test(raw) ? raw : `http://${raw.startsWith(':') ? `127.0.0.1${raw}` : raw}`;
  const url = parseHttpUrl(withScheme, raw);
  // Without a scheme, the port defaults to Ollama's; an explicit scheme keeps its own default.
  if (!url.port && withScheme !== raw) url.port = '11434';
  return url.toString().replace(/\/+$/, '');
}

/** A base URL of a cloud API (or an OpenAI-compatible gateway): http(s) only; throws on nonsense. */
export function normalizeApiUrl(value: string): string {
  return parseHttpUrl(value.trim()).toString().replace(/\/+$/, '');
}

/** Why `value` is not a usable base URL for `provider`, or undefined when it is. */
export function urlProblem(value: string, ollama: boolean): string | undefined {
  try {
    if (ollama) normalizeOllamaUrl(value);
    else normalizeApiUrl(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `written` is what the user wrote, for messages (OLLAMA_HOST may lack the scheme we added). */
function parseHttpUrl(text: string, written = text): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${JSON.stringify(redactUrlText(written))} is not a URL (expected e.g. http://127.0.0.2:11434 or https://api.example.com/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${JSON.stringify(redactUrl(url))} is not an http or https URL`);
  }
  if (!url.hostname) throw new Error(`${JSON.stringify(redactUrl(url))} names no host`);
  return url;
}

/** Splits a normalised URL into the URL to connect to and its credentials. */
export function splitCredentials(normalized: string): HostUrl {
  const url = new URL(normalized);
  if (!url.username && !url.password) return { url: normalized, secrets: [] };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const token = Buffer.from(`${user}:${password}`).toString('base64');
  url.username = '';
  url.password = '';
  // A lone user name is usually a token (`https://TOKEN@host`); a name beside a password is not secret.
  const secret = password || user;
  return { url: url.toString().replace(/\/+$/, ''), basicAuth: `Basic ${token}`, secrets: [secret, token] };
}

function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.toString();
  const copy = new URL(url.toString());
  copy.username = '';
  copy.password = '';
  return copy.toString().replace('://', '://***@');
}

/** `scheme://user:pass@host` anywhere in a text becomes `scheme://***@host`. */
export function redactUrlText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']+@/gi, '$1***@');
}

/**
 * Removes secrets from text before it is logged or sent to a client. Known secret values
 * (API keys from env and config) are replaced exactly; common token shapes are caught even when
 * the daemon was never told about them (a key echoed back inside a provider's error body).
 */
const TOKEN_PATTERNS: RegExp[] = [
  /\b(sk-(?:ant-|proj-|or-v1-)?[A-Za-z0-9_-]{16,})/g,
  /\b(AIza[0-9A-Za-z_-]{30,})/g,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  // Credentials inside a URL: `http://user:pass@box:11434`.
  /([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']+(?=@)/gi,
  /((?:api[_-]?key|x-api-key|access_token|refresh_token|authorization)["']?\s*[:=]\s*["']?)(?!Bearer\s)[^"'\s,}]{6,}/gi,
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a secret value; values shorter than 6 characters are ignored (too likely to be common text). */
  add(secret: string | undefined): void {
    if (secret && secret.length >= 6) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[REDACTED]');
    for (const pattern of TOKEN_PATTERNS) {
      out = out.replace(pattern, (match: string, prefix: string) => (match.startsWith(prefix) && prefix !== match ? `${prefix}[REDACTED]` : '[REDACTED]'));
    }
    return out;
  }
}

/**
 * The daemon reads its environment once, when it starts: a key exported in this shell afterwards
 * is not the daemon's. When the daemon says a host lacks its key and this shell has that key, the
 * fix is `aid restart`, not another `export`.
 */
export function explainDaemonEnv(message: string, data: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const keyEnv = (data as { keyEnv?: unknown } | undefined)?.keyEnv;
  if (!Array.isArray(keyEnv)) return message;
  const here = keyEnv.filter((name): name is string => typeof name === 'string' && Boolean(env[name]?.trim()));
  if (here.length === 0) return message;
  const names = here.join(' and ');
  return (
    `${message}\nThe running aid daemon started ` +
    `without ${names}, which this shell has set: run \`aid restart\` so the daemon reads it (a systemd service reads ~/.config/aid/env instead).`
  );
}

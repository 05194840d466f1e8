import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface InstalledUnits {
  dir: string;
  files: string[];
}

/** The package root (holds systemd/ and daemon/bin/aid.js), from dist/daemon/. */
export function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

/** Fills in the unit templates from systemd/ for this installation. */
export function renderUnit(template: string, root: string, nodePath: string): string {
  return template.split('@ROOT@').join(root).split('@NODE@').join(nodePath);
}

export function installUnits(env: Record<string, string | undefined>, root = packageRoot(), nodePath = process.execPath): InstalledUnits {
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  const dir = path.join(configHome, 'systemd', 'user');
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const unit of ['aid.service', 'aid.socket']) {
    const target = path.join(dir, unit);
    fs.writeFileSync(target, renderUnit(fs.readFileSync(path.join(root, 'systemd', unit), 'utf8'), root, nodePath));
    files.push(target);
  }
  return { dir, files };
}

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Registration {
  pid: number;
  socket: string;
  version: string;
  startedAt: string;
}

/** Written atomically (temp file + rename) so a reader never sees half a file. */
export function writeRegistration(file: string, registration: Registration): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(registration, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function readRegistration(file: string): Registration | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Registration;
  } catch {
    return undefined;
  }
}

/** Removes the file only if it is ours: a newer daemon may already have replaced it. */
export function removeRegistration(file: string, pid: number): void {
  if (readRegistration(file)?.pid === pid) fs.rmSync(file, { force: true });
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Redactor } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  setLevel(level: LogLevel): void;
}

export interface FileLoggerOptions {
  file: string;
  level: LogLevel;
  redactor: Redactor;
  /** Also write each line to stderr (`aid start --foreground`). */
  stderr: boolean;
  /** Rotate when the file passes this size; keep `keep` old files (aid.log.1 … .N). */
  maxBytes?: number;
  keep?: number;
  now?: () => Date;
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value);
    parts.push(`${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/**
 * Line-oriented log file with size-based rotation. Writes are synchronous on purpose: a log line
 * written just before a crash must be on disk, and the volume is small.
 */
export class FileLogger implements Logger {
  private level: LogLevel;
  private fd: number | undefined;
  private size = 0;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly now: () => Date;

  constructor(private readonly options: FileLoggerOptions) {
    this.level = options.level;
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    this.now = options.now ?? (() => new Date());
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = this.options.redactor.redact(`${this.now().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${formatFields(fields)}`) + '\n';
    if (this.options.stderr) process.stderr.write(line);
    try {
      this.open();
      if (this.size + Buffer.byteLength(line) > this.maxBytes && this.size > 0) this.rotate();
      this.size += fs.writeSync(this.fd as number, line);
    } catch {
      // A full or read-only disk must not take the daemon down; the line is lost, the work is not.
    }
  }

  private open(): void {
    if (this.fd !== undefined) return;
    fs.mkdirSync(path.dirname(this.options.file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(this.options.file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    const file = this.options.file;
    for (let i = this.keep - 1; i >= 1; i--) {
      if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    }
    fs.renameSync(file, `${file}.1`);
    this.open();
  }
}

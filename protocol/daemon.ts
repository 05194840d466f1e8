import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { HostStatus } from './hosts';

export interface StatusResult {
  version: string;
  protocolVersion: number;
  pid: number;
  uptimeMs: number;
  socket: string;
  hosts: HostStatus[];
  config: { file: string; loaded: boolean; error?: string };
  store: { path: string; schemaVersion: number; requests: number; incident?: StoreIncident };
  /** How the daemon got its socket: bound it itself or was handed it by systemd. */
  activation: 'self' | 'systemd';
  /** The model an `aid/ask` without `model` would go to now, and why. */
  defaultModel: DefaultModel;
}

/**
 * What an ask without a model uses: the config's `defaultModel` (`config`), else the recommended
 * model of a healthy local host (`local`), else of the first healthy cloud host (`cloud`); `none`
 * when no host can take a question (then `why` says what to set up).
 */
export interface DefaultModel {
  /** `HOST/MODEL`; absent when no host can answer. */
  ref?: string;
  source: 'config' | 'local' | 'cloud' | 'none';
  why: string;
}
/**
 * The store's file was removed (its data directory deleted) or replaced while the daemon ran.
 * The daemon still holds everything in the file it opened and writes it back to disk.
 */
export interface StoreIncident {
  /** ISO 8601, when the daemon noticed. */
  detectedAt: string;
  /** What happened, what the daemon did, and what to do. */
  message: string;
  /** True once everything the daemon held is on disk again and new writes land there. */
  recovered: boolean;
}
export const StatusRequest = new RequestType0<StatusResult, void>('aid/status');

export interface ReloadResult {
  ok: boolean;
  file: string;
  /** Present when the new config was rejected; the daemon keeps its last good config. */
  issues?: string[];
}
export const ReloadRequest = new RequestType0<ReloadResult, void>('aid/reload');

/** One effective config value under its dotted key (`context.maxTokens`), and where it came from. */
export interface ConfigValue {
  key: string;
  value: unknown;
  source: 'file' | 'default';
}

/** The daemon's effective config, as `aic config` shows it. Secrets are never in it. */
export interface ConfigShowResult {
  file: string;
  /** The file exists and the values marked `file` came from it. */
  loaded: boolean;
  /** Why the file as it is now was rejected; the values are the last good config's. */
  error?: string;
  values: ConfigValue[];
  /** The environment variables the built-in hosts read, whether each is set (never its value). */
  environment: { name: string; set: boolean }[];
}
export const ConfigShowRequest = new RequestType0<ConfigShowResult, void>('aid/config');

export interface ShutdownParams {
  reason?: string;
}
/** Asks the daemon to shut down; answered before the shutdown starts. */
export const ShutdownRequest = new RequestType<ShutdownParams, { pid: number }, void>('aid/shutdown');

export interface LogParams {
  level: 'info' | 'warn' | 'error';
  message: string;
}
/** To every handshaken connection: what is worth showing the user (a config rejected and the last good one kept, the store written back). */
export const LogNotification = new NotificationType<LogParams>('aid/log');

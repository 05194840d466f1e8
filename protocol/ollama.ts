import { NotificationType, RequestType } from 'vscode-jsonrpc';

/** Local model management on Ollama hosts (`aic pull`, `aic rm`, `aic ps`). */

export interface PullParams {
  model: string;
  /** An Ollama host by name; default: the built-in `ollama` host. */
  host?: string;
  /** Unique on the connection; every `aid/pull/progress` of this pull carries it. */
  streamToken: string;
}
export interface PullResult {
  host: string;
  model: string;
}
export interface PullProgressParams {
  streamToken: string;
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}
export const PullRequest = new RequestType<PullParams, PullResult, void>('aid/pull');
/** While Ollama downloads a model for `aid/pull`: each stage, with bytes done of the total. */
export const PullProgressNotification = new NotificationType<PullProgressParams>('aid/pull/progress');

export interface RemoveParams {
  model: string;
  host?: string;
}
export const RemoveRequest = new RequestType<RemoveParams, PullResult, void>('aid/rm');

export interface LoadedModel {
  host: string;
  model: string;
  sizeBytes: number;
  vramBytes: number;
  /** ISO time when Ollama unloads it. */
  expiresAt: string;
  contextLength?: number;
}
export interface PsParams {
  host?: string;
}
export interface PsResult {
  models: LoadedModel[];
  failures: { host: string; error: string }[];
}
export const PsRequest = new RequestType<PsParams, PsResult, void>('aid/ps');

import { RequestType } from 'vscode-jsonrpc';
import type { Capability } from './version';

export interface HandshakeParams {
  /** The client's build version (package.json version). */
  clientVersion: string;
  protocolVersion: number;
  /** Free-form client name for logs, e.g. "aic", "nvim". */
  client: string;
  /** Capability names the client supports (see version.ts); names this daemon does not know are ignored. */
  capabilities: string[];
}
export interface HandshakeResult {
  daemonVersion: string;
  protocolVersion: number;
  pid: number;
  capabilities: Capability[];
}
/** Must be the first request on a connection; anything else first gets HandshakeRequired. */
export const HandshakeRequest = new RequestType<HandshakeParams, HandshakeResult, void>('aid/handshake');

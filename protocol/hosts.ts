import { RequestType } from 'vscode-jsonrpc';

export type ProviderKind = 'anthropic' | 'openai' | 'gemini' | 'openrouter' | 'ollama';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['anthropic', 'openai', 'gemini', 'openrouter', 'ollama'];

export type Health = 'up' | 'down' | 'unconfigured';

/** One reachable endpoint of a provider, as the contract's `HostStatus`. */
export interface HostStatus {
  name: string;
  provider: ProviderKind;
  baseUrl: string;
  health: Health;
  latencyMs?: number;
  version?: string;
  error?: string;
  /** When health was last probed (ms since epoch); absent before the first probe. */
  checkedAt?: number;
}

export interface HostsParams {
  /** Probe every host now instead of answering from the last periodic check. */
  refresh?: boolean;
}
export const HostsRequest = new RequestType<HostsParams, HostStatus[], void>('aid/hosts');

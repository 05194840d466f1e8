import type { DefaultModel } from '../../protocol/daemon';
import type { HostRegistry } from '../catalog/registry';
import { AidError } from '../errors/aid-error';

/**
 * The model an ask without one would use now, and why: routed exactly as AskService routes such
 * an ask (the config's defaultModel, else the first healthy host's recommended model, local
 * hosts first), so a client can show it before asking.
 */
export async function describeDefaultModel(registry: HostRegistry, configured: string | undefined, signal?: AbortSignal): Promise<DefaultModel> {
  try {
    const [chosen] = await registry.route(undefined, configured, signal);
    if (configured?.trim()) return { ref: chosen.ref, source: 'config', why: `the config's defaultModel (${configured.trim()})` };
    if (chosen.host.provider === 'ollama')
      return { ref: chosen.ref, source: 'local', why: `no defaultModel is configured: the recommended model of ${chosen.host.name}, a local host` };
    return {
      ref: chosen.ref,
      source: 'cloud',
      why: `no defaultModel is configured and no local host has a chat model: the recommended model of ${chosen.host.name}`,
    };
  } catch (error) {
    if (!(error instanceof AidError)) throw error;
    return { source: 'none', why: error.message };
  }
}

import type { DefaultModel } from '../../protocol/daemon';
import type { ProviderKind } from '../../protocol/hosts';
import { AidError } from '../errors/aid-error';

/** Where an ask goes (the catalog's routing): the hosts to try, best first. */
export type Route = (
  ref: string | undefined,
  defaultModel: string | undefined,
  signal?: AbortSignal,
) => Promise<{ ref: string; host: { name: string; provider: ProviderKind } }[]>;

/**
 * The model an ask without one would use now, and why: routed exactly as AskService routes such
 * an ask (the config's defaultModel, else the first healthy host's recommended model, local
 * hosts first), so a client can show it before asking.
 */
export async function describeDefaultModel(route: Route, configured: string | undefined, signal?: AbortSignal): Promise<DefaultModel> {
  try {
    const [chosen] = await route(undefined, configured, signal);
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

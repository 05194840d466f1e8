import type { AskResult } from '../../protocol/chat';
import type { ModelInfo } from '../../protocol/models';
import { ModelsRequest } from '../../protocol/models';
import type { RpcConnection } from '../rpc';
import type { SessionCost } from './status-line';

/** What one `aic chat` remembers between messages. */
export interface ChatState {
  /** Chosen with -m or /model; absent: the daemon's default. */
  model?: string;
  /** Absent until the first answer of a new conversation names it. */
  sessionId?: string;
  sessionTitle?: string;
  sessionCost: SessionCost;
  turns: number;
  project: string;
  projectExplicit?: boolean;
  noContext: boolean;
  /** Files added (`/context add`) or taken out (`/context drop`) by hand, for every question that follows. */
  contextAdd: string[];
  contextDrop: string[];
  lastResult?: AskResult;
}

/** The model list, asked for once per chat: context windows for the status line, prices for /model. */
export class ModelCatalog {
  private models: Promise<ModelInfo[]> | undefined;

  constructor(private readonly rpc: RpcConnection) {}

  list(refresh = false): Promise<ModelInfo[]> {
    if (!this.models || refresh) {
      this.models = this.rpc.request(ModelsRequest, {}).then((r) => r.models);
      // A failed listing is asked again next time instead of being remembered.
      this.models.catch(() => (this.models = undefined));
    }
    return this.models;
  }

  async contextWindow(ref: string): Promise<number | undefined> {
    const models = await this.list().catch(() => []);
    return findModel(models, ref)?.contextWindow;
  }
}

/**
 * The listed model a reference names: `HOST/MODEL` exactly, a bare `MODEL`, and Ollama's
 * implicit `:latest` tag, as the daemon routes them.
 */
export function findModel(models: ModelInfo[], ref: string): ModelInfo | undefined {
  const withTag = (name: string): string => (name.includes(':') ? name : `${name}:latest`);
  return (
    models.find((m) => m.ref === ref) ??
    models.find((m) => m.model === ref) ??
    models.find((m) => m.provider === 'ollama' && (m.ref === withTag(ref) || m.model === withTag(ref)))
  );
}

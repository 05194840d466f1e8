import { ErrorCodes } from '../../protocol/errors';
import type { ModelInfo } from '../../protocol/models';
import { AidError } from '../errors/aid-error';
import type { DiscoveredModel } from '../providers/types';
import { pullCommand } from '../providers/ollama';
import { recommendedModel } from './default-model';
import type { HostEntry, HostHealth } from './host-health';
import type { ModelCatalog, ResolvedModel } from './model-catalog';
import { chatModels, findModel } from './model-match';
import { closestNames } from '../../protocol/suggest';

/** What to tell a user who has no usable host at all. */
export const NO_HOST_HINT =
  'To configure a model host, use one of:\n' +
  '  - Ollama (local, free): install it, run `ollama serve`, then `aic pull llama3.2` (or set OLLAMA_HOST=host:port)\n' +
  '  - Anthropic: export ANTHROPIC_API_KEY=...\n' +
  '  - OpenAI: export OPENAI_API_KEY=...\n' +
  '  - Gemini: export GEMINI_API_KEY=...\n' +
  '  - OpenRouter: export OPENROUTER_API_KEY=...\n' +
  'then check with `aic hosts` (after exporting a key, run `aid restart` so the daemon sees it).';

/**
 * Which host a model reference goes to: `HOST/MODEL` that host, a bare model every host serving
 * it (healthy first, then cheapest), nothing the recommended model of a healthy host, local first.
 */
export class Router {
  constructor(
    private readonly health: HostHealth,
    private readonly catalog: ModelCatalog,
  ) {}

  /**
   * Turns `HOST/MODEL`, a bare `MODEL` or nothing into one host and model: the first of route().
   */
  async resolve(ref: string | undefined, defaultModel: string | undefined): Promise<ResolvedModel> {
    return (await this.route(ref, defaultModel))[0];
  }

  /**
   * Every host a request may go to, in the order to try them (never empty). `HOST/MODEL` is that
   * host only: the user chose it. A bare `MODEL` is every host serving it, healthy first, then
   * cheapest (free, then by listed price, then unpriced). Only the first `/` splits, and only when
   * what precedes it names a host: OpenRouter ids contain slashes.
   */
  async route(ref: string | undefined, defaultModel: string | undefined, signal?: AbortSignal): Promise<ResolvedModel[]> {
    const wanted = ref?.trim() || defaultModel?.trim();
    if (!wanted) return this.routeDefault(signal);
    const slash = wanted.indexOf('/');
    const named = slash > 0 ? this.health.entry(wanted.slice(0, slash)) : undefined;
    if (named) return [await this.resolveOnHost(named, wanted.slice(slash + 1), signal)];
    return this.routeBare(wanted, signal);
  }

  private usable(entry: HostEntry): void {
    if (!entry.adapter) {
      throw new AidError(ErrorCodes.NoUsableHost, `host '${entry.definition.name}' is not usable: ${entry.status.error ?? 'not configured'}`, {
        host: entry.definition.name,
        ...(entry.definition.keyEnv && !entry.definition.apiKey ? { keyEnv: entry.definition.keyEnv } : {}),
      });
    }
  }

  private async listOrExplain(entry: HostEntry, refresh: boolean, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    try {
      return (await this.catalog.discover(entry, refresh, signal)).models;
    } catch (error) {
      throw new AidError(ErrorCodes.NoUsableHost, (error as Error).message, { host: entry.definition.name });
    }
  }

  private async resolveOnHost(entry: HostEntry, model: string, signal?: AbortSignal): Promise<ResolvedModel> {
    this.usable(entry);
    let models = await this.listOrExplain(entry, false, signal);
    // Not in the known list: it may have been pulled since; ask the host once before refusing.
    if (!findModel(models, model)) models = await this.listOrExplain(entry, true, signal);
    const match = findModel(models, model);
    if (match?.kind === 'embedding')
      throw embeddingModel(
        `${entry.definition.name}/${match.id}`,
        closestNames(
          model,
          chatModels(models).map((m) => m.id),
        ),
      );
    if (!match) {
      const suggestions = closestNames(
        model,
        chatModels(models).map((m) => m.id),
      );
      const hint = entry.definition.provider === 'ollama' ? ` — run \`${pullCommand(model, entry.definition.name)}\`` : '';
      throw new AidError(
        ErrorCodes.UnknownModel,
        `model '${model}' is not available on host ${entry.definition.name}${hint}${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''}`,
        { ref: `${entry.definition.name}/${model}`, suggestions },
      );
    }
    return this.catalog.resolved(entry, match);
  }

  private async routeBare(model: string, signal?: AbortSignal): Promise<ResolvedModel[]> {
    let listed = await this.catalog.discoverAll(false, signal);
    if (listed.length === 0)
      throw new AidError(ErrorCodes.NoUsableHost, `no model host is usable\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT, keyEnv: this.health.missingKeys() });
    const matches = (): { entry: HostEntry; model: DiscoveredModel; order: number }[] => {
      const found: { entry: HostEntry; model: DiscoveredModel; order: number }[] = [];
      listed.forEach((item, order) => {
        const match = item.models && findModel(chatModels(item.models), model);
        if (match) found.push({ entry: item.entry, model: match, order });
      });
      return found;
    };
    let found = matches();
    // In no known list: it may have been pulled since (outside aid); ask the hosts once more.
    if (found.length === 0) {
      listed = await this.catalog.discoverAll(true, signal);
      found = matches();
    }
    if (found.length > 0) {
      const rank = (f: (typeof found)[number]): [number, number, number] => [
        f.entry.status.health === 'up' ? 0 : 1,
        costRank(this.catalog.priceOf(f.entry, f.model)),
        f.order,
      ];
      found.sort((a, b) => compareTuples(rank(a), rank(b)));
      return found.map((f) => this.catalog.resolved(f.entry, f.model));
    }
    const embedding = listed.find((l) => l.models && findModel(l.models, model));
    const seen = listed.flatMap((l) => chatModels(l.models ?? []).map((m) => `${l.entry.definition.name}/${m.id}`));
    if (embedding)
      throw embeddingModel(`${embedding.entry.definition.name}/${(findModel(embedding.models ?? [], model) as DiscoveredModel).id}`, seen.slice(0, 3));
    const errors = listed.filter((l) => l.error !== undefined).map((l) => l.error as string);
    if (seen.length === 0 && errors.length > 0) {
      throw new AidError(ErrorCodes.NoUsableHost, `no host could serve '${model}':\n  ${errors.join('\n  ')}`, {
        hint: NO_HOST_HINT,
        keyEnv: this.health.missingKeys(),
      });
    }
    // Compare against the model ids, then show them as refs: the host prefix is not a typo.
    const refsById = new Map(seen.map((ref) => [ref.slice(ref.indexOf('/') + 1), ref]));
    const suggestions = closestNames(model, [...refsById.keys()]).map((id) => refsById.get(id) ?? id);
    throw new AidError(
      ErrorCodes.UnknownModel,
      `no host serves a model named '${model}'${suggestions.length ? `; closest: ${suggestions.join(', ')}` : ''} (see \`aic models\`)`,
      { ref: model, suggestions },
    );
  }

  /**
   * No model asked for (and none configured): the recommended model of the first healthy host,
   * local (free) hosts before paid ones, then other hosts serving it.
   */
  private async routeDefault(signal?: AbortSignal): Promise<ResolvedModel[]> {
    const listed = await this.catalog.discoverAll(false, signal);
    // Hosts known to be up first, local ones first among them; unknown/down ones are still tried (the probe may be stale).
    const rank = (item: (typeof listed)[number]): [number, number] => [
      item.entry.status.health === 'up' ? 0 : 1,
      item.entry.definition.provider === 'ollama' ? 0 : 1,
    ];
    const ordered = [...listed].sort((a, b) => compareTuples(rank(a), rank(b)));
    const errors: string[] = [];
    for (const item of ordered) {
      const first = item.models && recommendedModel(item.entry.definition.provider, chatModels(item.models));
      if (first) {
        const others = ordered.filter((o) => o !== item && o.models && findModel(chatModels(o.models), first.id));
        return [
          this.catalog.resolved(item.entry, first),
          ...others.map((o) => this.catalog.resolved(o.entry, findModel(o.models ?? [], first.id) as DiscoveredModel)),
        ];
      }
      if (item.error !== undefined) errors.push(item.error);
      else
        errors.push(
          `host ${item.entry.definition.name} has no models` +
            `${item.entry.definition.provider === 'ollama' ? ` — run \`${pullCommand('llama3.2', item.entry.definition.name)}\`` : ''}`,
        );
    }
    const detail = errors.length ? `:\n${errors.map((e) => `  - ${e}`).join('\n')}` : '';
    throw new AidError(ErrorCodes.NoUsableHost, `no model host is usable${detail}\n${NO_HOST_HINT}`, { hint: NO_HOST_HINT, keyEnv: this.health.missingKeys() });
  }
}

function embeddingModel(ref: string, suggestions: string[]): AidError<typeof ErrorCodes.UnknownModel> {
  return new AidError(
    ErrorCodes.UnknownModel,
    `${ref} is an embedding model: it turns text into vectors and cannot answer questions; pick a ` +
      `chat model${suggestions.length ? ` such as ${suggestions.join(', ')}` : ''} (see \`aic models\`)`,
    { ref, suggestions },
  );
}

/** Free first, then by the listed price of a typical call (input and output), unpriced last. */
function costRank(price: ModelInfo['price']): number {
  if (price === 'free') return 0;
  if (price === 'unpriced') return Number.POSITIVE_INFINITY;
  return price.inputPerMTok + price.outputPerMTok;
}

function compareTuples(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return 0;
}

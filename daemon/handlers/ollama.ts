import { z } from 'zod';
import { ErrorCodes } from '../../protocol/errors';
import { AidError, cancelled } from '../errors/aid-error';
import { PsRequest, PullProgressNotification, PullRequest, RemoveRequest, type PsResult } from '../../protocol/ollama';
import type { ModelCatalog } from '../catalog/model-catalog';
import { ProviderError } from '../providers/types';
import { defineHandler, type Handler } from '../server/handlers';

/** Translates a provider failure of a management call on `host` (about `model`) into aid's errors. */
function failure(error: unknown, host: string, model?: string): AidError {
  if (error instanceof AidError) return error as AidError;
  if (error instanceof ProviderError) {
    if (error.kind === 'unreachable' || error.kind === 'timeout') return new AidError(ErrorCodes.NoUsableHost, error.message, { host });
    if (error.kind === 'not_found') return new AidError(ErrorCodes.UnknownModel, error.message, { ref: `${host}/${model ?? ''}`, suggestions: [] });
    if (error.kind === 'cancelled') return cancelled({ host });
    return new AidError(ErrorCodes.ProviderError, error.message, { host, provider: 'ollama', ...(error.status ? { status: error.status } : {}) });
  }
  return new AidError(ErrorCodes.Internal, `unexpected failure: ${(error as Error).message}`, { host });
}

/** The one host a pull or rm acts on: the named one, else the built-in `ollama`, else the only Ollama host. */
function single(catalog: ModelCatalog, host: string | undefined): ReturnType<ModelCatalog['managers']>[number] {
  const managers = catalog.managers(host);
  const chosen = managers.find((m) => m.host.name === 'ollama') ?? managers[0];
  if (!chosen) throw new AidError(ErrorCodes.NoUsableHost, 'no Ollama host is configured; set OLLAMA_HOST or add one in the config', {});
  return chosen;
}

export function ollamaHandlers(catalog: ModelCatalog): Handler[] {
  const model = z.string().min(1, 'name a model, e.g. llama3.2').max(300);
  const host = z.string().min(1).optional();
  return [
    defineHandler(PullRequest, z.object({ model, host, streamToken: z.string().min(1).max(200) }), async (params, context) => {
      const target = single(catalog, params.host);
      const release = context.claimStreamToken(params.streamToken);
      try {
        await target.manager.pull(
          params.model,
          (progress) => context.notify(PullProgressNotification, { streamToken: params.streamToken, ...progress }),
          context.signal,
        );
      } catch (error) {
        throw failure(error, target.host.name, params.model);
      } finally {
        release();
        // The host's model set changed (or may have, if the pull was cut): list it afresh next time.
        await catalog.invalidateModels(target.host.name);
      }
      return { host: target.host.name, model: params.model };
    }),
    defineHandler(RemoveRequest, z.object({ model, host }), async (params, context) => {
      const target = single(catalog, params.host);
      try {
        await target.manager.remove(params.model, context.signal);
      } catch (error) {
        throw failure(error, target.host.name, params.model);
      } finally {
        await catalog.invalidateModels(target.host.name);
      }
      return { host: target.host.name, model: params.model };
    }),
    defineHandler(PsRequest, z.object({ host }), async (params, context): Promise<PsResult> => {
      const result: PsResult = { models: [], failures: [] };
      await Promise.all(
        catalog.managers(params.host).map(async ({ host: h, manager }) => {
          try {
            for (const m of await manager.loaded(context.signal)) {
              result.models.push({
                host: h.name,
                model: m.id,
                sizeBytes: m.sizeBytes,
                vramBytes: m.vramBytes,
                expiresAt: m.expiresAt,
                ...(m.contextLength ? { contextLength: m.contextLength } : {}),
              });
            }
          } catch (error) {
            result.failures.push({ host: h.name, error: (error as Error).message });
          }
        }),
      );
      return result;
    }),
  ];
}

import { z } from 'zod';
import { HostsRequest } from '../../protocol/hosts';
import { ModelsRequest } from '../../protocol/models';
import type { HostHealth } from '../catalog/host-health';
import type { ModelCatalog } from '../catalog/model-catalog';
import { defineHandler, type Handler } from '../server/handlers';

export function catalogHandlers(health: HostHealth, catalog: ModelCatalog): Handler[] {
  return [
    defineHandler(HostsRequest, z.object({ refresh: z.boolean().optional() }), async (params) => (params.refresh ? health.probeAll() : health.statuses())),
    defineHandler(ModelsRequest, z.object({ host: z.string().min(1).optional(), refresh: z.boolean().optional() }), (params) =>
      catalog.listModels(params.host, params.refresh ?? false),
    ),
  ];
}

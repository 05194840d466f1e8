import { z } from 'zod';
import { HostsRequest } from '../../protocol/hosts';
import { ModelsRequest } from '../../protocol/models';
import type { HostRegistry } from '../catalog/registry';
import { defineHandler, type Handler } from '../server/handlers';

export function catalogHandlers(registry: HostRegistry): Handler[] {
  return [
    defineHandler(HostsRequest, z.object({ refresh: z.boolean().optional() }), async (params) => (params.refresh ? registry.probeAll() : registry.statuses())),
    defineHandler(ModelsRequest, z.object({ host: z.string().min(1).optional(), refresh: z.boolean().optional() }), (params) =>
      registry.listModels(params.host, params.refresh ?? false),
    ),
  ];
}

import { z } from 'zod';
import { COST_BY, CostRepriceRequest, CostRequest, type CostBy, type RepriceResult } from '../../protocol/cost';
import type { CostReporter } from '../ledger/report';
import { defineHandler, type Handler } from '../server/handlers';

export function costHandlers(reporter: CostReporter, reprice: () => Promise<RepriceResult>): Handler[] {
  const day = z.string().min(1).max(20).optional();
  return [
    defineHandler(CostRequest, z.object({ by: z.enum(COST_BY as [CostBy, ...CostBy[]]).optional(), since: day, until: day }), (params) => reporter.report(params)),
    defineHandler(CostRepriceRequest, z.object({}), () => reprice()),
  ];
}

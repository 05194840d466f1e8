import { z } from 'zod';
import { AidError } from '../errors/aid-error';
import { COST_BY, CostRepriceRequest, CostRequest, PricesUpdateRequest, type CostBy, type RepriceResult } from '../../protocol/cost';
import { ErrorCodes } from '../../protocol/errors';
import type { PriceData } from '../pricing/price-data';
import type { CostReporter } from '../ledger/report';
import { defineHandler, type Handler } from '../server/handlers';

export function costHandlers(reporter: CostReporter, reprice: () => Promise<RepriceResult>, priceData: PriceData, pricesUrl: () => string): Handler[] {
  const day = z.string().min(1).max(20).optional();
  return [
    defineHandler(
      CostRequest,
      z.object({ by: z.enum(COST_BY as [CostBy, ...CostBy[]]).optional(), since: day, until: day, source: z.string().min(1).max(200).optional() }),
      (params) => reporter.report(params),
    ),
    defineHandler(CostRepriceRequest, z.object({}), () => reprice()),
    defineHandler(PricesUpdateRequest, z.object({ url: z.url({ protocol: /^https?$/ }).optional() }), async (params, context) => {
      try {
        return await priceData.update(params.url ?? pricesUrl(), context.signal);
      } catch (error) {
        throw new AidError(ErrorCodes.Internal, (error as Error).message, {});
      }
    }),
  ];
}

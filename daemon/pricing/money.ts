/** Sums of float costs, rounded to a nano-dollar so 0.1 + 0.2 does not come out as 0.30000000000000004. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/** Sums of float costs, rounded to a nano-dollar so 0.1 + 0.2 does not come out as 0.30000000000000004. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/** Dollars in the daemon's messages (refusals, alerts): cents when there are some, else six decimals. */
export function usd(value: number): string {
  return value >= 0.01 ? `$${value.toFixed(2)}` : `$${value.toFixed(6)}`;
}

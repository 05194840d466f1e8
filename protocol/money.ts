/**
 * Dollars as aid shows them everywhere (the daemon's messages, every aic table and line, exports):
 * whole cents from $1 up; below that as many decimals as the amount needs, at most six, so a call
 * costing a fraction of a cent is not shown as $0.00. Zero is "$0".
 */
export function formatUsd(value: number): string {
  if (value === 0) return '$0';
  if (Math.abs(value) < 0.000001) return value > 0 ? '<$0.000001' : '-<$0.000001';
  if (Math.abs(value) >= 1) return `$${value.toFixed(2)}`;
  const fixed = value.toFixed(6).replace(/0+$/, '');
  // At least two decimals, so cents read as cents: $0.50, not $0.5.
  const decimals = fixed.length - fixed.indexOf('.') - 1;
  return `$${decimals < 2 ? value.toFixed(2) : fixed}`;
}

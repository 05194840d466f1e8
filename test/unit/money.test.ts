import { strict as assert } from 'node:assert';
import { formatUsd } from '../../protocol/money';

describe('formatUsd: one way to show dollars, in the daemon and in aic', () => {
  it('whole cents from $1, as many decimals as needed below (at most six), $0 for nothing', () => {
    const cases: [number, string][] = [
      [0, '$0'],
      [12.5, '$12.50'],
      [1, '$1.00'],
      [0.5, '$0.50'],
      [0.04, '$0.04'],
      [0.0123456, '$0.012346'],
      [0.000042, '$0.000042'],
      [0.001, '$0.001'],
      [0.0000004, '<$0.000001'],
    ];
    for (const [value, shown] of cases) assert.equal(formatUsd(value), shown, String(value));
  });
});

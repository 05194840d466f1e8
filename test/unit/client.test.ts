import { strict as assert } from 'node:assert';
import { UsageError, parseArgs, stringFlag } from '../../client/args';
import { formatDuration, table } from '../../client/output';
import { ErrorCodes, ExitCodes, JsonRpcCodes, exitCodeFor } from '../../protocol/errors';

describe('client helpers', () => {
  const specs = [{ name: 'model', alias: 'm', value: true }, { name: 'json' }];

  it('parses flags, aliases, --x=v and positionals', () => {
    const args = parseArgs(['-m', 'ollama/llama3.2', 'why', '--json', 'is it', '--model=x/y'], specs);
    assert.equal(stringFlag(args, 'model'), 'x/y');
    assert.equal(args.flags.get('json'), true);
    assert.deepEqual(args.positionals, ['why', 'is it']);
    assert.deepEqual(parseArgs(['a', '--', '--json', '-m'], specs).positionals, ['a', '--json', '-m']);
  });

  it('rejects unknown options and missing or unexpected values', () => {
    assert.throws(() => parseArgs(['--nope'], specs), (e: unknown) => e instanceof UsageError && /unknown option --nope/.test(e.message));
    assert.throws(() => parseArgs(['-m'], specs), /--model needs a value/);
    assert.throws(() => parseArgs(['--json=1'], specs), /takes no value/);
  });

  it('lays out tables and durations', () => {
    assert.equal(table(['A', 'LONGER'], [['xx', '1'], ['y', '22']]), 'A   LONGER\nxx  1\ny   22\n');
    assert.equal(formatDuration(12.4), '12 ms');
    assert.equal(formatDuration(1500), '1.5 s');
    assert.equal(formatDuration(125000), '2m5s');
  });

  it('maps daemon error codes to the contract exit codes', () => {
    assert.equal(exitCodeFor(ErrorCodes.UnknownModel), ExitCodes.noUsableHost);
    assert.equal(exitCodeFor(ErrorCodes.NoUsableHost), 3);
    assert.equal(exitCodeFor(ErrorCodes.BudgetRefused), 4);
    assert.equal(exitCodeFor(ErrorCodes.InvalidParams), 2);
    assert.equal(exitCodeFor(JsonRpcCodes.InvalidParams), 2);
    assert.equal(exitCodeFor(ErrorCodes.ProviderError), 1);
    assert.equal(exitCodeFor(ErrorCodes.Internal), 1);
  });
});

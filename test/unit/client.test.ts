import { strict as assert } from 'node:assert';
import { UsageError, parseArgs, stringFlag, type FlagSpec } from '../../client/args';
import { formatDuration, table } from '../../client/output';
import { ErrorCodes, ExitCodes, JsonRpcCodes, exitCodeFor } from '../../protocol/errors';

function usageError(argv: string[], specs: FlagSpec[], message: string): void {
  assert.throws(
    () => parseArgs(argv, specs),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.message, message);
      return true;
    },
  );
}

describe('client helpers', () => {
  describe('parseArgs', () => {
    const specs: FlagSpec[] = [{ name: 'model', alias: 'm', value: 'REF' }, { name: 'json' }, { name: 'new' }];

    it('reads long flags, aliases and positionals in any order', () => {
      const args = parseArgs(['-m', 'ollama/llama3.2', 'why', '--json', 'is it'], specs);
      assert.equal(stringFlag(args, 'model'), 'ollama/llama3.2');
      assert.equal(args.flags.get('json'), true);
      assert.equal(args.flags.has('new'), false);
      assert.deepEqual(args.positionals, ['why', 'is it']);
    });

    it('takes --name=value and -m=value, keeping any further = in the value', () => {
      assert.equal(stringFlag(parseArgs(['--model=gpu-box/qwen2.5-coder:7b'], specs), 'model'), 'gpu-box/qwen2.5-coder:7b');
      assert.equal(stringFlag(parseArgs(['-m=x/y'], specs), 'model'), 'x/y');
      assert.equal(stringFlag(parseArgs(['--model=a=b'], specs), 'model'), 'a=b');
    });

    it('lets the last occurrence of a flag win', () => {
      assert.equal(stringFlag(parseArgs(['-m', 'first', '--model', 'second'], specs), 'model'), 'second');
    });

    it('ends options at --, and treats a lone - as a positional', () => {
      assert.deepEqual(parseArgs(['a', '--', '--json', '-m'], specs), { flags: new Map(), positionals: ['a', '--json', '-m'] });
      assert.deepEqual(parseArgs(['-'], specs).positionals, ['-']);
    });

    it('refuses unknown options, missing values and values on switches with a UsageError', () => {
      usageError(['--nope'], specs, 'unknown option --nope (see `aic --help`)');
      usageError(['-x'], specs, 'unknown option -x (see `aic --help`)');
      usageError(['--nope=1'], specs, 'unknown option --nope (see `aic --help`)');
      usageError(['-m'], specs, 'option --model needs a value');
      usageError(['ask', '--model'], specs, 'option --model needs a value');
      usageError(['--json=1'], specs, 'option --json takes no value');
    });

    it('stringFlag gives undefined for switches and absent flags', () => {
      const args = parseArgs(['--json'], specs);
      assert.equal(stringFlag(args, 'json'), undefined);
      assert.equal(stringFlag(args, 'model'), undefined);
    });
  });

  describe('output', () => {
    it('table pads every column but the last, and trims trailing spaces', () => {
      assert.equal(
        table(
          ['A', 'LONGER', 'END'],
          [
            ['xx', '1', 'a'],
            ['y', '22', ''],
          ],
        ),
        'A   LONGER  END\nxx  1       a\ny   22\n',
      );
      assert.equal(table(['NAME', 'HEALTH'], []), 'NAME  HEALTH\n');
      assert.equal(table(['A', 'B'], [['only']]), 'A     B\nonly\n');
    });

    it('formatDuration picks the unit a person reads', () => {
      const cases: [number, string][] = [
        [0, '0 ms'],
        [12.4, '12 ms'],
        [999, '999 ms'],
        [1000, '1.0 s'],
        [1500, '1.5 s'],
        [59_900, '59.9 s'],
        [60_000, '1m0s'],
        [125_000, '2m5s'],
        [3_599_000, '59m59s'],
        [3_600_000, '1h0m'],
        [5_400_000, '1h30m'],
        // Rounding must carry into the next unit, never show 60 of the smaller one.
        [999.7, '1.0 s'],
        [59_960, '1m0s'],
        [119_600, '2m0s'],
      ];
      for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
    });
  });

  describe('exitCodeFor', () => {
    it('uses the exit codes the contract fixes', () => {
      assert.deepEqual(ExitCodes, { ok: 0, failure: 1, usage: 2, noUsableHost: 3, budgetRefused: 4, daemonUnreachable: 5 });
    });

    it('maps each daemon error code to its exit code', () => {
      const expected: [number, number][] = [
        [ErrorCodes.UnknownModel, 3],
        [ErrorCodes.NoUsableHost, 3],
        [ErrorCodes.BudgetRefused, 4],
        [ErrorCodes.InvalidParams, 2],
        [JsonRpcCodes.InvalidParams, 2],
        [ErrorCodes.ProviderError, 1],
        [ErrorCodes.NotFound, 1],
        [ErrorCodes.ShuttingDown, 1],
        [ErrorCodes.HandshakeRequired, 1],
        [ErrorCodes.VersionMismatch, 1],
        [ErrorCodes.ConfigInvalid, 1],
        [ErrorCodes.Cancelled, 1],
        [ErrorCodes.Internal, 1],
        [JsonRpcCodes.MethodNotFound, 1],
        [JsonRpcCodes.ParseError, 1],
        [-1, 1],
      ];
      for (const [code, exit] of expected) assert.equal(exitCodeFor(code), exit, `code ${code}`);
    });

    it('never maps a daemon answer to success or to "daemon unreachable"', () => {
      for (const code of [...Object.values(ErrorCodes), ...Object.values(JsonRpcCodes)]) {
        assert.ok(![ExitCodes.ok, ExitCodes.daemonUnreachable].includes(exitCodeFor(code) as 0 | 5), `code ${code}`);
      }
    });
  });
});

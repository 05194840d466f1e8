import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from '../helpers/daemon';

/** The layering rules of eslint.config.mjs, shown to bite: an upward import is a lint error. */
describe('layering (eslint.config.mjs)', function () {
  this.timeout(60000);
  const eslint = new ESLint({ cwd: ROOT });
  const restricted = async (file: string, text: string): Promise<string[]> => {
    const [result] = await eslint.lintText(text, { filePath: path.join(ROOT, file) });
    return (result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
  };

  it('refuses an upward import between daemon rooms, the client reaching into the daemon, and protocol/ importing ours', async () => {
    const [ledger] = await restricted('daemon/ledger/ledger.ts', "import { AskService } from '../chat/ask';\nexport const probe = AskService;\n");
    assert.match(ledger ?? '', /daemon\/ledger may import only errors, pricing, store, tokens/);
    const [context] = await restricted('daemon/context/engine.ts', "import { Ledger } from '../ledger/ledger';\nexport const probe = Ledger;\n");
    assert.match(context ?? '', /daemon\/context may import only/);
    const [client] = await restricted('client/main.ts', "import { runDaemon } from '../daemon/main';\nexport const probe = runDaemon;\n");
    assert.match(client ?? '', /the client shares only protocol\//);
    const [protocol] = await restricted('protocol/chat.ts', "import { Ledger } from '../daemon/ledger/ledger';\nexport const probe = Ledger;\n");
    assert.match(protocol ?? '', /protocol\/ imports nothing of ours/);
  });

  it('lets a room import the rooms below it', async () => {
    assert.deepEqual(await restricted('daemon/chat/ask.ts', "import { Ledger } from '../ledger/ledger';\nexport const probe = Ledger;\n"), []);
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { ContextRequest } from '../../protocol/context';
import { aic, aid, connect, SandboxPool, waitFor } from '../helpers/daemon';
import { demoProject as project } from '../helpers/demo-project';

interface ContextJson {
  project: string;
  files: { path: string; score: number; reasons: string[]; tokens: number }[];
  tokenBudget: number;
  tokensUsed: number;
}

describe('the intelligence engine through aic', function () {
  this.timeout(60000);
  const pool = new SandboxPool();
  let sim: OllamaSimulator;
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
  });
  afterEach(async () => {
    await pool.teardownAll();
    await sim.stop();
  });

  const lastUserMessage = (): string => {
    const body = sim.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { messages: { role: string; content: string }[] };
    return body.messages.at(-1)?.content ?? '';
  };

  it('aic context ranks the files of the project with reasons, in the contract shape; .gitignore is honoured; edits show up', async () => {
    const s = pool.make({ ollamaUrl: sim.url });
    const root = project(s);
    const ranked = await aic(['context', 'how does reserveBudget work', '--json'], s, { cwd: path.join(root, 'src') });
    assert.equal(ranked.code, 0, ranked.stderr);
    const r = JSON.parse(ranked.stdout) as ContextJson;
    assert.deepEqual(Object.keys(r).sort(), ['files', 'project', 'tokenBudget', 'tokensUsed']);
    assert.equal(r.project, root, 'the git root of the working directory');
    assert.equal(r.files[0]?.path, 'src/budget.ts');
    assert.ok(r.files[0]?.reasons.includes('defines reserveBudget'), r.files[0]?.reasons.join('; '));
    assert.deepEqual(Object.keys(r.files[0] ?? {}).sort(), ['path', 'reasons', 'score', 'tokens']);
    assert.ok(r.files.every((f) => f.score >= 0 && f.score <= 1 && !path.isAbsolute(f.path)));
    assert.ok(!r.files.some((f) => f.path.startsWith('secret/')), 'ignored by .gitignore');
    assert.ok(!r.files.some((f) => f.path === '.env' || f.path.endsWith('.pem')), 'credentials are never indexed');
    assert.equal(r.tokenBudget, 8000, 'a quarter of the 131k window, capped at context.maxTokens');
    assert.ok(r.tokensUsed > 0 && r.tokensUsed <= r.tokenBudget);

    const human = await aic(['context', 'how does reserveBudget work', '--limit', '1'], s, { cwd: root });
    assert.match(human.stdout, /^ 1\. src\/budget\.ts {2}0\.\d\d {2}\d+ tokens\n {6}/m);
    assert.doesNotMatch(human.stdout, / 2\. /);

    // An edit is seen by the watcher: the palette file now defines the function asked about.
    fs.writeFileSync(path.join(root, 'src/colours.ts'), 'export function paletteForTheme(): string[] {\n  return [];\n}\n');
    await waitFor(async () => {
      const again = JSON.parse((await aic(['context', 'paletteForTheme', '--json'], s, { cwd: root })).stdout) as ContextJson;
      return again.files[0]?.path === 'src/colours.ts' && again.files[0].reasons.includes('defines paletteForTheme');
    }, 15000, () => 'the edit never reached the index');

    // Outside git, nothing is indexed unless the user names the directory.
    const outside = await aic(['context', 'x'], s);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /is not in a git repository; run this inside a project, or name its directory with --project DIR/);
    const bad = await aic(['context', 'x', '--project', path.join(s.dir, 'nowhere')], s);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /no such project directory: .*nowhere/);
    assert.equal((await aic(['context'], s)).code, 2);
  });

  it('aic ask attaches the context before the question, says so, records it in the session; --no-context and non-git directories do not', async () => {
    const s = pool.make({ ollamaUrl: sim.url });
    const root = project(s);
    // The first ask may find the index still being built; one later finds it ready.
    assert.equal((await aic(['context', 'warm up', '--json'], s, { cwd: root })).code, 0);
    // A question that matches no file well is sent alone: context costs tokens.
    assert.equal((await aic(['ask', 'thanks!'], s, { cwd: root })).code, 0);
    assert.equal(lastUserMessage(), 'thanks!');
    const asked = await aic(['ask', '--json', 'explain reserveBudget'], s, { cwd: root });
    assert.equal(asked.code, 0, asked.stderr);
    const sent = lastUserMessage();
    assert.match(sent, /^Context from the project proj: /);
    assert.match(sent, /src\/budget\.ts \(whole file, lines 1-4\)\n```ts\nexport function reserveBudget/);
    assert.match(sent, /\nQuestion:\nexplain reserveBudget$/);
    const done = JSON.parse(asked.stdout.trim().split('\n').at(-1) ?? '{}') as { sessionId: string; context: { project: string; files: { path: string }[]; tokensUsed: number; tokenBudget: number } };
    assert.equal(done.context.project, root);
    assert.ok(done.context.files.some((f) => f.path === 'src/budget.ts'));
    const shown = JSON.parse((await aic(['sessions', 'show', done.sessionId, '--json'], s)).stdout) as { turns: { user: string; context?: { path: string }[] }[] };
    assert.equal(shown.turns[0]?.user, 'explain reserveBudget', 'the session keeps the question as asked');
    assert.ok(shown.turns[0]?.context?.some((f) => f.path === 'src/budget.ts'));
    const md = (await aic(['sessions', 'export', done.sessionId], s)).stdout;
    assert.match(md, /Context: `src\/budget\.ts`/);

    const human = await aic(['ask', 'explain reserveBudget'], s, { cwd: root });
    assert.match(human.stderr, / · context: \d+ files?, \d+ tokens\n$/);

    // @path asks for a file by hand: it comes first, whatever the ranking says.
    await aic(['ask', 'what about @src/colours.ts and reserveBudget'], s, { cwd: root });
    assert.match(lastUserMessage(), /^Context from the project proj: [^\n]*\n\nsrc\/colours\.ts \(whole file/);

    // From a subdirectory, @path is taken as the user sees it there.
    await aic(['ask', 'and @colours.ts?'], s, { cwd: path.join(root, 'src') });
    assert.match(lastUserMessage(), /^Context from the project proj: [^\n]*\n\nsrc\/colours\.ts \(whole file/);
    // A file the index leaves out (here by .gitignore) still comes when named by hand.
    await aic(['ask', 'read @secret/reserveBudget-notes.ts'], s, { cwd: root });
    assert.match(lastUserMessage(), /reserveBudgetSecret/);
    // Credentials never do, named or not, and the user is told why.
    const secret = await aic(['ask', 'what is the API_TOKEN in @.env and the key in @config/deploy.pem for reserveBudget?'], s, { cwd: root });
    assert.match(secret.stderr, /aic: warning: not attached: \.env \(a credentials file\), config\/deploy\.pem \(a credentials file\)\n/);
    assert.doesNotMatch(lastUserMessage(), /sk-live|PRIVATE KEY/);

    await aic(['ask', '--no-context', 'explain reserveBudget'], s, { cwd: root });
    assert.equal(lastUserMessage(), 'explain reserveBudget');
    await aic(['ask', 'explain reserveBudget'], s, { cwd: s.dir });
    assert.equal(lastUserMessage(), 'explain reserveBudget', 'a directory outside git is not indexed');
  });

  it('suggests the files needed next, explains and resets what it learnt, and keeps the index across a restart', async () => {
    const s = pool.make({ ollamaUrl: sim.url });
    const root = project(s);
    assert.equal((await aic(['context', 'warm up'], s, { cwd: root })).code, 0);
    const next = JSON.parse((await aic(['context', '--for', 'src/budget.ts', '--json'], s, { cwd: root })).stdout) as { files: { path: string; reasons: string[] }[] };
    assert.ok(next.files.some((f) => f.path === 'src/server.ts' && f.reasons.some((r) => /co-changes with src\/budget\.ts/.test(r))), JSON.stringify(next));

    assert.equal((await aic(['ask', 'explain reserveBudget'], s, { cwd: root })).code, 0);
    const explained = JSON.parse((await aic(['context', '--explain', '--json'], s, { cwd: root })).stdout) as { questions: number; topPriors: { path: string }[] };
    assert.equal(explained.questions, 1);
    assert.ok(explained.topPriors.some((p) => p.path === 'src/budget.ts'));
    assert.equal((await aic(['context', '--reset'], s, { cwd: root })).code, 0);
    assert.equal((JSON.parse((await aic(['context', '--explain', '--json'], s, { cwd: root })).stdout) as { questions: number }).questions, 0);

    assert.equal((await aid(['restart'], s)).code, 0);
    const after = JSON.parse((await aic(['context', 'how does reserveBudget work', '--json'], s, { cwd: root })).stdout) as ContextJson;
    assert.equal(after.files[0]?.path, 'src/budget.ts');
    // The restarted daemon took the index from lmdb: no file was read again, let alone parsed.
    const session = await connect(s);
    try {
      const r = await session.connection.sendRequest(ContextRequest, { project: root, query: 'reserveBudget' });
      assert.deepEqual([r.index.state, r.index.counters.parsed, r.index.counters.hashed], ['ready', 0, 0]);
      assert.ok(r.index.counters.unchanged >= 5, JSON.stringify(r.index.counters));
    } finally {
      session.close();
    }
  });
});

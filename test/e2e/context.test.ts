import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AskNoticeNotification, AskRequest } from '../../protocol/chat';
import { ContextRequest } from '../../protocol/context';
import { aic, aid, connect, SandboxPool, waitFor, writeConfig, type Sandbox } from '../helpers/daemon';
import { demoProject as project } from '../helpers/demo-project';

/** Key material: in ~/.ssh and in .env files, where a model must never see it. */
const KEY = 'KEYMATERIAL-5c1e-deployment-settings-signing-notes';
const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

interface JsonLine {
  type: string;
  message?: string;
  sessionId?: string;
  context?: { files: { path: string }[] };
}
const jsonLines = (stdout: string): JsonLine[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonLine);

interface ContextJson {
  project: string;
  files: { path: string; score: number; reasons: string[]; tokens: number }[];
  tokenBudget: number;
  tokensUsed: number;
}

describe('the intelligence engine through aic', function () {
  this.timeout(90000);
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
  /** Everything any provider was sent, in one string. */
  const everythingSent = (): string => JSON.stringify(sim.requests.map((r) => r.body));
  const home = (s: Sandbox): string => s.env.HOME as string;

  /**
   * The demo project with the user's key in ~/.ssh, a .env beside the project (../secret/.env),
   * a directory of notes beside it, and links: notes.md -> ~/.ssh/id_rsa, shared -> ../shared.
   */
  function linkedProject(s: Sandbox): string {
    const root = project(s);
    fs.mkdirSync(path.join(home(s), '.ssh'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home(s), '.ssh', 'id_rsa'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY}\n-----END OPENSSH PRIVATE KEY-----\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(s.dir, 'secret'));
    fs.writeFileSync(path.join(s.dir, 'secret', '.env'), `DEPLOY_TOKEN=${KEY}\n`);
    fs.mkdirSync(path.join(s.dir, 'shared'));
    fs.writeFileSync(path.join(s.dir, 'shared', 'notes.md'), `deployment settings and signing notes: ${KEY}\n`);
    fs.symlinkSync(path.join(home(s), '.ssh', 'id_rsa'), path.join(root, 'notes.md'));
    fs.symlinkSync(path.join(s.dir, 'shared'), path.join(root, 'shared'));
    return root;
  }

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
    await waitFor(
      async () => {
        const again = JSON.parse((await aic(['context', 'paletteForTheme', '--json'], s, { cwd: root })).stdout) as ContextJson;
        return again.files[0]?.path === 'src/colours.ts' && again.files[0].reasons.includes('defines paletteForTheme');
      },
      15000,
      () => 'the edit never reached the index',
    );

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
    const done = JSON.parse(asked.stdout.trim().split('\n').at(-1) ?? '{}') as {
      sessionId: string;
      context: { project: string; files: { path: string }[]; tokensUsed: number; tokenBudget: number };
    };
    assert.equal(done.context.project, root);
    assert.ok(done.context.files.some((f) => f.path === 'src/budget.ts'));
    const shown = JSON.parse((await aic(['sessions', 'show', done.sessionId, '--json'], s)).stdout) as {
      turns: { user: string; context?: { path: string }[] }[];
    };
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
    const next = JSON.parse((await aic(['context', '--for', 'src/budget.ts', '--json'], s, { cwd: root })).stdout) as {
      files: { path: string; reasons: string[] }[];
    };
    assert.ok(
      next.files.some((f) => f.path === 'src/server.ts' && f.reasons.some((r) => /co-changes with src\/budget\.ts/.test(r))),
      JSON.stringify(next),
    );

    assert.equal((await aic(['ask', 'explain reserveBudget'], s, { cwd: root })).code, 0);
    const explained = JSON.parse((await aic(['context', '--explain', '--json'], s, { cwd: root })).stdout) as {
      questions: number;
      topPriors: { path: string }[];
    };
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

  it(
    'aic ask sends no key through a link (to ~/.ssh, to a .env inside or beside the project, below a linked directory), says which file and why, and ' +
      'later questions of the session carry none',
    async () => {
      const s = pool.make({ ollamaUrl: sim.url });
      const root = linkedProject(s);
      assert.equal((await aic(['context', 'warm up', '--json'], s, { cwd: root })).code, 0);
      // Made while the project is watched: the watcher reports links as files.
      fs.symlinkSync('../secret/.env', path.join(root, 'deploy-settings.txt'));
      fs.symlinkSync('.env', path.join(root, 'settings.txt'));
      // Written after the links, in the same directory: once it is indexed, their events were handled.
      fs.writeFileSync(path.join(root, 'zebraSentinel.md'), 'zebraSentinel\n');
      await waitFor(
        async () => {
          const r = JSON.parse((await aic(['context', 'zebraSentinel', '--json'], s, { cwd: root })).stdout) as { files: { path: string }[] };
          return r.files[0]?.path === 'zebraSentinel.md';
        },
        20000,
        () => 'the sentinel file was never indexed',
      );

      const asked = await aic(['ask', '--json', 'summarise @notes.md, @deploy-settings.txt, @settings.txt and @shared/notes.md'], s, { cwd: root });
      assert.equal(asked.code, 0, asked.stderr);
      assert.ok(!everythingSent().includes(KEY), 'the key never reached the provider');
      const lines = jsonLines(asked.stdout);
      assert.deepEqual(
        lines.filter((l) => l.type === 'notice').map((l) => l.message),
        [
          'not attached: notes.md (a link to a file outside the project), deploy-settings.txt (a link to a file outside the project), settings.txt (a ' +
            'link to a credentials file), shared/notes.md (a link to a file outside the project)',
        ],
      );
      const sessionId = lines.at(-1)?.sessionId as string;
      assert.ok(sessionId);

      // Questions the linked files would match well, in the same session and alone.
      for (const args of [['--session', sessionId, 'what are the deployment settings and signing notes?'], ['deployment settings signing notes KEYMATERIAL']]) {
        const later = await aic(['ask', '--json', ...args], s, { cwd: root });
        assert.equal(later.code, 0, later.stderr);
        const done = jsonLines(later.stdout).at(-1);
        assert.ok(
          !done?.context?.files.some((f) => ['notes.md', 'deploy-settings.txt', 'settings.txt', 'shared/notes.md'].includes(f.path)),
          JSON.stringify(done),
        );
      }
      const ranked = JSON.parse((await aic(['context', 'deployment settings signing notes', '--json', '--limit', '50'], s, { cwd: root })).stdout) as {
        files: { path: string }[];
      };
      assert.deepEqual(
        ranked.files.map((f) => f.path).filter((p) => /notes|settings|shared/.test(p)),
        [],
        'no link is in the index',
      );
      assert.ok(sim.requests.filter((r) => r.path === '/api/chat').length >= 3);
      assert.ok(!everythingSent().includes(KEY), 'the key never reached the provider');
    },
  );

  it('files added by hand (/context add) and the open file are held to the same rule, and the user is told', async () => {
    const s = pool.make({ ollamaUrl: sim.url });
    const root = linkedProject(s);
    assert.equal((await aic(['context', 'warm up'], s, { cwd: root })).code, 0);
    const session = await connect(s);
    try {
      const notices: string[] = [];
      session.connection.onNotification(AskNoticeNotification, (n) => {
        notices.push(n.message);
      });
      const result = await session.connection.sendRequest(AskRequest, {
        prompt: 'what do the deployment signing notes say?',
        model: 'ollama/llama3.2',
        project: root,
        contextAdd: ['notes.md', 'shared/notes.md', 'src/budget.ts'],
        openFile: 'notes.md',
        streamToken: 'hand-picked',
      });
      assert.ok(!everythingSent().includes(KEY), 'the key never reached the provider');
      assert.deepEqual(notices, ['not attached: notes.md (a link to a file outside the project), shared/notes.md (a link to a file outside the project)']);
      const sent = result.context?.files.map((f) => f.path) ?? [];
      assert.ok(sent.includes('src/budget.ts'), `the file that may be sent still is: ${sent.join(', ')}`);
      assert.ok(!sent.some((p) => p === 'notes.md' || p.startsWith('shared')), sent.join(', '));
    } finally {
      session.close();
    }
    assert.ok(!everythingSent().includes(KEY), 'the key never reached the provider');
  });

  it(
    'does not take $HOME (a git repository there too, or a link to it) or / as a project: aic ask gets one notice and no context, aic context a ' +
      'usage error naming --project-force, which (or context.allowBroadProjects) allows it',
    async () => {
      const s = pool.make({ ollamaUrl: sim.url });
      const h = home(s);
      fs.mkdirSync(path.join(h, 'notes'), { recursive: true });
      fs.writeFileSync(path.join(h, 'notes', 'todo.md'), 'rotate the signing keys every spring\n');
      fs.writeFileSync(path.join(h, '.bashrc'), 'export EDITOR=vi\n');
      // A dotfiles repository at $HOME: every directory below it is in that repository.
      const git = (...args: string[]): string => execFileSync('git', args, { cwd: h, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
      git('init', '-q', '-b', 'main');
      git('add', '-A');
      git('commit', '-qm', 'dotfiles');

      const question = 'how often do I rotate the signing keys?';
      const asked = await aic(['ask', question], s, { cwd: path.join(h, 'notes') });
      assert.equal(asked.code, 0, asked.stderr);
      const warnings = asked.stderr.split('\n').filter((l) => l.startsWith('aic: warning:'));
      assert.equal(warnings.length, 1, asked.stderr);
      assert.match(
        warnings[0],
        new RegExp(
          `^aic: warning: no project ` +
            `context: ${h} is your home directory: it is not indexed as a project, since that would read every file below it; .*--project ` +
            `DIR.*--project-force.*context\\.allowBroadProjects`,
        ),
      );
      assert.equal(lastUserMessage(), question, 'the question went alone');

      const refused = await aic(['context', 'signing keys'], s, { cwd: h });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /is your home directory: it is not indexed as a project.*--project-force/);
      fs.symlinkSync(h, path.join(s.dir, 'home-link'));
      const viaLink = await aic(['context', 'signing keys', '--project', path.join(s.dir, 'home-link')], s);
      assert.equal(viaLink.code, 2, viaLink.stderr);
      assert.match(viaLink.stderr, new RegExp(`${h} is your home directory`));

      // The root of the filesystem, asked for last: the checks above fail first without the rule.
      const slash = await aic(['context', 'x', '--project', '/'], s);
      assert.equal(slash.code, 2, slash.stderr);
      assert.match(slash.stderr, /^aic: \/ is the root of the filesystem: it is not indexed as a project.*--project-force/m);

      const forced = await aic(['context', 'signing keys', '--json', '--project-force'], s, { cwd: h });
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((JSON.parse(forced.stdout) as { files: { path: string }[] }).files[0]?.path, 'notes/todo.md');
      const forcedAsk = await aic(['ask', '--project-force', question], s, { cwd: h });
      assert.equal(forcedAsk.code, 0, forcedAsk.stderr);
      assert.match(lastUserMessage(), /notes\/todo\.md \(whole file/);
      // aic chat: the same rule and the same flag.
      const chat = await aic(['chat'], s, { cwd: h, input: `${question}\n` });
      assert.equal(chat.code, 0, chat.stderr);
      assert.equal(lastUserMessage(), question);
      assert.match(chat.stdout + chat.stderr, /aic: warning: no project context: .* is your home directory.*--project-force/);
      const forcedChat = await aic(['chat', '--project-force'], s, { cwd: h, input: `${question}\n` });
      assert.equal(forcedChat.code, 0, forcedChat.stderr);
      assert.match(lastUserMessage(), /notes\/todo\.md \(whole file/);

      writeConfig(s, { context: { allowBroadProjects: true } });
      await waitFor(
        async () => {
          await aic(['ask', question], s, { cwd: h });
          return /notes\/todo\.md \(whole file/.test(lastUserMessage());
        },
        20000,
        () => 'context.allowBroadProjects never let $HOME in',
      );
    },
  );

  it('a project past context.maxFiles is indexed partially and says so: in aid/context, aic context and an ask notice', async () => {
    const s = pool.make({ ollamaUrl: sim.url, config: { context: { maxFiles: 3 } } });
    const root = project(s);
    const ranked = await aic(['context', 'reserveBudget', '--json'], s, { cwd: root });
    assert.equal(ranked.code, 0, ranked.stderr);
    const partial =
      `the index of ${root} is partial: indexing stopped at 3 files (context.maxFiles); leave directories out with .gitignore, or raise ` +
      `context.maxFiles in the config`;
    assert.equal((JSON.parse(ranked.stdout) as { partial?: string }).partial, partial);
    assert.equal(ranked.stderr, `aic: warning: ${partial}\n`);
    const session = await connect(s);
    try {
      const r = await session.connection.sendRequest(ContextRequest, { project: root, query: 'reserveBudget' });
      assert.equal(r.index.partial, partial);
      assert.equal(r.index.state, 'ready');
    } finally {
      session.close();
    }
    const asked = await aic(['ask', 'explain reserveBudget'], s, { cwd: root });
    assert.equal(asked.code, 0, asked.stderr);
    assert.ok(asked.stderr.includes(`aic: warning: ${partial}\n`), asked.stderr);
  });
});

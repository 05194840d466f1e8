import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudSimulator } from '../fakes/cloud-simulator';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AIC_BIN, aic, SandboxPool, type Sandbox } from '../helpers/daemon';
import { demoProject } from '../helpers/demo-project';
import { TmuxTerminal } from '../helpers/tmux';

const OPENAI_KEY = 'sk-chat-test-0123456789abcdef';

interface ShownTurn {
  user: string;
  assistant: string;
  complete: boolean;
  ref?: string;
}

/** `aic chat` in a real pseudo-terminal (tmux), typed into as a person would. */
describe('aic chat in a terminal', function () {
  this.timeout(60000);
  const pool = new SandboxPool();
  const sims: { stop(): Promise<void> }[] = [];
  const terminals: TmuxTerminal[] = [];

  afterEach(async () => {
    for (const t of terminals.splice(0)) t.kill();
    await pool.teardownAll();
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  async function ollama(options: ConstructorParameters<typeof OllamaSimulator>[0] = {}): Promise<OllamaSimulator> {
    const sim = new OllamaSimulator(options);
    sims.push(sim);
    await sim.start();
    return sim;
  }

  function chat(s: Sandbox, args: string[] = [], cwd = s.dir): TmuxTerminal {
    const t = TmuxTerminal.start(s.dir, [process.execPath, AIC_BIN, 'chat', ...args], s.env, cwd);
    terminals.push(t);
    return t;
  }

  async function sessionTurns(s: Sandbox, id: string): Promise<ShownTurn[]> {
    const shown = await aic(['sessions', 'show', id, '--json'], s);
    assert.equal(shown.code, 0, shown.stderr);
    return (JSON.parse(shown.stdout) as { turns: ShownTurn[] }).turns;
  }

  it('streams answers with a status line; multi-line input; Ctrl-C stops an answer and the upstream request without leaving; Ctrl-D leaves', async () => {
    const sim = await ollama({ tokenDelayMs: 40 });
    const s = pool.make({ ollamaUrl: sim.url });
    const t = chat(s);
    await t.waitFor(/aic chat · default model · new session/);
    await t.waitFor(/you> $/m);

    t.type('hello there');
    t.keys('Enter');
    let screen = await t.waitFor(/ollama\/llama3\.2:latest · \d+\/131k tokens · free this answer · session free/);
    assert.match(screen, /^Echo: hello there$/m);

    // A line ending in \ continues: one message of two lines reaches the model.
    t.type('first line \\');
    t.keys('Enter');
    await t.waitFor(/\.\.\.> $/m);
    t.type('second line');
    t.keys('Enter');
    await t.waitFor(/^second line\nollama\/llama3\.2:latest · /m);
    const chats = sim.requests.filter((r) => r.path === '/api/chat');
    const last = chats[chats.length - 1]?.body as { messages: { role: string; content: string }[] };
    assert.equal(last.messages[last.messages.length - 1]?.content, 'first line \nsecond line');
    assert.equal(last.messages.length, 3, 'the history of the session went with it');

    // Ctrl-C while the answer streams: the answer stops, the upstream request is aborted, the chat stays.
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    t.type(long);
    t.keys('Enter');
    await t.waitFor(/Echo: w0 w1 w2 w3/);
    const aborted = sim.waitForAbort();
    t.keys('C-c');
    await aborted;
    screen = await t.waitFor(/\[cancelled: the partial answer is kept in the session\]\nyou> $/m);
    assert.doesNotMatch(screen, /w299\nollama/, 'the answer did not run to its end');
    assert.equal(t.exitStatus(), undefined, 'still in the chat');

    // The chat goes on in the same session: the cut turn is kept, marked incomplete.
    t.type('still here?');
    t.keys('Enter');
    await t.waitFor(/^Echo: still here\?$/m);
    await t.waitFor(/session free[^\n]*\nyou> $/m);
    t.keys('C-d');
    assert.equal(await t.waitForExit(), 0);
    screen = t.screen();
    const id = /session ([0-9a-f]{8}) · 4 turns · free · continue with: aic chat --session \1/.exec(screen)?.[1];
    assert.ok(id, screen);
    const turns = await sessionTurns(s, id);
    assert.deepEqual(
      turns.map((x) => x.complete),
      [true, true, false, true],
    );
    assert.match(turns[2]?.assistant ?? '', /^Echo: w0 w1/);

    // Input history is kept between chats (private to the user).
    const history = path.join(s.stateDir, 'chat_history');
    assert.match(fs.readFileSync(history, 'utf8'), /^hello there$/m);
    assert.equal(fs.statSync(history).mode & 0o777, 0o600);
  });

  it(
    'keys typed while an answer is written stay out of it; Ctrl-C still stops the answer; the typed-ahead question goes next; Ctrl-D ' + 'drops the rest',
    async () => {
      const sim = await ollama({ tokenDelayMs: 40 });
      const s = pool.make({ ollamaUrl: sim.url });
      const t = chat(s);
      await t.waitFor(/you> $/m);
      const long = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
      t.type(long);
      t.keys('Enter');
      await t.waitFor(/Echo: w0 w1 w2/);
      // Typed ahead, with a correction, while the answer streams.
      t.type('next questionx');
      t.keys('BSpace');
      let screen = t.screen();
      assert.doesNotMatch(screen, /next question/, 'nothing typed shows inside the answer');
      const aborted = sim.waitForAbort();
      t.keys('C-c');
      await aborted;
      await t.waitFor(/\[cancelled: the partial answer is kept in the session\]\nyou> next question$/m);
      t.keys('Enter');
      await t.waitFor(/^Echo: next question\n[^\n]*free this answer[^\n]*\nyou> $/m);

      // Two questions typed ahead, then Ctrl-D: the answer stops and nothing more is asked.
      t.type(long);
      t.keys('Enter');
      await t.waitFor(/Echo: w0 w1 w2[\s\S]*Echo: w0 w1 w2/);
      const before = sim.requests.filter((r) => r.path === '/api/chat').length;
      t.type('queued one');
      t.keys('Enter');
      t.type('queued two');
      t.keys('Enter');
      t.keys('C-d');
      assert.equal(await t.waitForExit(), 0);
      screen = t.screen();
      assert.doesNotMatch(screen, /Echo: queued/);
      assert.equal(sim.requests.filter((r) => r.path === '/api/chat').length, before, 'the typed-ahead questions were not sent');
    },
  );

  it('slash commands: /model lists and switches, /cost, /context, /sessions, /clear, /resume, /export, /help, unknown ones', async () => {
    const sim = await ollama();
    const s = pool.make({ ollamaUrl: sim.url });
    const t = chat(s, ['-m', 'ollama/llama3.2']);
    await t.waitFor(/aic chat · ollama\/llama3\.2 · new session/);
    t.type('/model');
    t.keys('Enter');
    await t.waitFor(/\* +ollama\/llama3\.2:latest +131k +free\n +ollama\/qwen2\.5-coder:7b +33k +free\nnow: ollama\/llama3\.2; \/model REF switches/);
    t.type('/model ollama/qwen2.5-coder:7b');
    t.keys('Enter');
    await t.waitFor(/model: ollama\/qwen2\.5-coder:7b \(context 33k, free\)/);
    t.type('what is up');
    t.keys('Enter');
    let screen = await t.waitFor(/ollama\/qwen2\.5-coder:7b · \d+\/32\.8k tokens · free this answer · session free/);
    assert.equal((sim.requests.filter((r) => r.path === '/api/chat').pop()?.body as { model: string }).model, 'qwen2.5-coder:7b');

    t.type('/cost');
    t.keys('Enter');
    await t.waitFor(/this session: \$0 over 1 turn · \d+ in, \d+ out\ntoday: \$0 over 1 request · month-end projection \$0/);
    t.type('/context');
    t.keys('Enter');
    await t.waitFor(/no project context here: .* is not a git repository \(start the chat with --project DIR to use a directory anyway\)/);

    t.type('/sessions');
    t.keys('Enter');
    screen = await t.waitFor(/\* +([0-9a-f]{8}) +\S+ \S+ +1 +\$0 +what is up/);
    const first = /\* +([0-9a-f]{8}) /.exec(screen)?.[1] as string;

    t.type('/export md notes.md');
    t.keys('Enter');
    await t.waitFor(/wrote .*notes\.md/);
    assert.match(fs.readFileSync(path.join(s.dir, 'notes.md'), 'utf8'), /what is up[\s\S]*Echo: what is up/);

    t.type('/clear');
    t.keys('Enter');
    await t.waitFor(new RegExp(`new session; session ${first} is kept \\(/resume ${first}\\)`));
    t.type('another topic');
    t.keys('Enter');
    await t.waitFor(/^Echo: another topic$/m);
    t.type(`/resume ${first.slice(0, 5)}`);
    t.keys('Enter');
    await t.waitFor(new RegExp(`resumed session ${first} "what is up": 1 turn, free; model ollama/qwen2\\.5-coder:7b`));
    t.type('and then?');
    t.keys('Enter');
    await t.waitFor(/^Echo: and then\?$/m);
    const resumed = sim.requests.filter((r) => r.path === '/api/chat').pop()?.body as { messages: { content: string }[] };
    assert.deepEqual(
      resumed.messages.map((m) => m.content),
      ['what is up', 'Echo: what is up', 'and then?'],
    );

    t.type('/help');
    t.keys('Enter');
    await t.waitFor(/\/resume ID +continue a session/);
    t.type('/frobnicate');
    t.keys('Enter');
    await t.waitFor(/unknown command \/frobnicate; \/help lists them/);
    t.type('/resume nosuchid');
    t.keys('Enter');
    await t.waitFor(/aic: no session 'nosuchid' \(see `aic sessions`\)/);
    t.type('/exit');
    t.keys('Enter');
    assert.equal(await t.waitForExit(), 0);
    screen = t.screen();
    assert.match(screen, new RegExp(`session ${first} · 2 turns · free · continue with: aic chat --session ${first}`));
  });

  it('/context shows what was attached and its share; /context add and drop steer the next questions', async () => {
    const sim = await ollama();
    const s = pool.make({ ollamaUrl: sim.url });
    const root = demoProject(s);
    assert.equal((await aic(['context', 'warm up'], s, { cwd: root })).code, 0, 'the index is built');
    const t = chat(s, [], root);
    await t.waitFor(/you> $/m);
    t.type('explain reserveBudget');
    t.keys('Enter');
    await t.waitFor(/free this answer[^\n]*\nyou> $/m);
    t.type('/context');
    t.keys('Enter');
    await t.waitFor(/FILE +LINES +TOKENS +OF PROMPT\nsrc\/budget\.ts +whole +\d+ +\d+%\n[\s\S]*\d+ of a 8k-token context budget \(\d+% of the prompt\), from /);
    t.type('/context drop src/server.ts');
    t.keys('Enter');
    await t.waitFor(/kept out of the next questions: src\/server\.ts/);
    t.type('/context add README.md');
    t.keys('Enter');
    await t.waitFor(/attached to the next questions: README\.md/);
    t.type('/context add ../../etc/passwd');
    t.keys('Enter');
    await t.waitFor(/\.\.\/\.\.\/etc\/passwd is outside the project/);
    t.type('and reserveBudget again?');
    t.keys('Enter');
    await t.waitFor(/^Question:\nand reserveBudget again\?$/m);
    const sent = (sim.requests.filter((r) => r.path === '/api/chat').pop()?.body as { messages: { content: string }[] }).messages.at(-1)?.content ?? '';
    assert.match(sent, /^Context from the project proj: [^\n]*\n\nREADME\.md \(whole file/, sent);
    assert.doesNotMatch(sent, /src\/server\.ts \(/, 'the dropped file is left out');
    t.keys('C-d');
    assert.equal(await t.waitForExit(), 0);
  });

  it('shows budget alerts and refusals inline and keeps chatting', async () => {
    const o = await ollama();
    const openai = new CloudSimulator({ kind: 'openai', apiKey: OPENAI_KEY });
    sims.push(openai);
    await openai.start();
    const s = pool.make({ ollamaUrl: o.url, env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openai.url } });
    assert.equal((await aic(['budget', 'set', 'watch', '--limit', '0.000001', '--period', 'month', '--alert', '50'], s)).code, 0);
    const t = chat(s, ['-m', 'openai/gpt-4.1-mini']);
    await t.waitFor(/you> $/m);
    t.type('hi');
    t.keys('Enter');
    await t.waitFor(/aid: alert: budget 'watch' has used \$0\.0000\d+ of \$0\.000001 this month \(\d+%, past the 50% alert\)/);
    // OpenAI's model list gives no context window, and the status line does not make one up.
    await t.waitFor(/openai\/gpt-4\.1-mini · \d+\/1\.0M tokens · \$0\.0000\d+ this answer · session \$0\.0000\d+/);

    assert.equal((await aic(['budget', 'set', 'tiny', '--limit', '0.001', '--period', 'day', '--scope', 'provider=openai', '--hard'], s)).code, 0);
    const sent = openai.chatCount();
    t.type('hi again');
    t.keys('Enter');
    await t.waitFor(/aic: refused: refused by budget 'tiny' .*models that fit: ollama\/llama3\.2:latest \(free\)/);
    assert.equal(openai.chatCount(), sent, 'nothing was sent');
    // Pasted with a question after it: the command runs, then the question goes.
    t.type('/model ollama/llama3.2\nhi local\n');
    await t.waitFor(/^Echo: hi local$/m);
    assert.equal(t.exitStatus(), undefined);
    await t.waitFor(/free this answer[^\n]*\nyou> $/m);
    t.keys('C-d');
    assert.equal(await t.waitForExit(), 0, t.screen());
  });

  it('reads messages from a pipe when stdin is not a terminal, and names an unknown session', async () => {
    const sim = await ollama();
    const s = pool.make({ ollamaUrl: sim.url });
    const piped = await aic(['chat'], s, { input: 'one\n/cost\ntwo\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /Echo: one\n[^\n]*free this answer[\s\S]*this session: \$0 over 1 turn[\s\S]*Echo: two\n/);
    assert.doesNotMatch(piped.stdout, /you> /, 'no prompts for a script');
    const failing = await aic(['chat', '-m', 'ollama/nosuch'], s, { input: 'hello\n' });
    assert.equal(failing.code, 1, 'the last question failed');
    assert.match(failing.stderr, /^aic: .*nosuch/m);
    const positional = await aic(['chat', 'hello', 'world'], s, { input: '' });
    assert.equal(positional.code, 2);
    assert.match(positional.stderr, /aic chat takes no prompt \(got 'hello world'\)/);
    const bad = await aic(['chat', '--session', 'feedface'], s, { input: '' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no session 'feedface' \(see `aic sessions`\)/);
  });
});

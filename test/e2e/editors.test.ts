import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OllamaSimulator, OllamaSimulatorOptions } from '../fakes/ollama-simulator';
import { chatPrompts, SimulatorPool } from '../helpers/simulators';
import { AID_BIN, connect, ROOT, SandboxPool, startForeground, type Sandbox } from '../helpers/daemon';
import { PROTOCOL_VERSION } from '../../protocol/version';
import { SessionsShowRequest } from '../../protocol/sessions';

/**
 * The editor plugins in editors/, loaded from the repository into the real editors (Debian's
 * Neovim and Emacs, which .ci/run installs) and into a third-party JSON-RPC client, against a
 * real daemon and the Ollama simulator (issue 13). A missing editor fails the test: CI has them.
 */

function need(program: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${program} is not installed: apt-get install ${pkg} (.ci/run does)`);
  }
}

/** Runs a program to its end, with a deadline; resolves with its output. */
function runProgram(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const EDITORS = path.join(ROOT, 'editors');
const DRIVERS = path.join(ROOT, 'test', 'editors');

describe('editor plugins in real editors, against a real daemon', function () {
  this.timeout(60000);
  const pool = new SandboxPool();
  const sims = new SimulatorPool();
  afterEach(async () => {
    await pool.teardownAll();
    await sims.stopAll();
  });
  const simulator = (options: OllamaSimulatorOptions = {}): Promise<OllamaSimulator> => sims.ollama(options);

  /** A sandbox with a fast Ollama (`ollama`, with an embedding model too) and a slow one (`slow`), no daemon running yet. */
  async function sandbox(): Promise<{ s: Sandbox; fast: OllamaSimulator; slow: OllamaSimulator }> {
    const fast = await simulator({
      models: [
        { name: 'llama3.2:latest', contextLength: 131072 },
        { name: 'nomic-embed-text:latest', capabilities: ['embedding'] },
      ],
    });
    const slow = await simulator({ tokenDelayMs: 150, reply: () => Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ') });
    const s = pool.make({ ollamaUrl: fast.url, config: { hosts: { slow: { provider: 'ollama', baseUrl: slow.url } } } });
    return { s, fast, slow };
  }

  describe('Neovim (editors/nvim)', () => {
    interface NvimOut {
      lua_error?: string;
      socket: string;
      statusline_down: string;
      statusline_down_after: string;
      ask: {
        start?: { ref: string; sessionId: string };
        start_before_delta?: boolean;
        deltas: string[];
        done?: { type: string; sessionId: string; ref: string };
        error?: unknown;
      };
      statusline_up: string;
      cancel: { deltas: number; done?: unknown; error?: { code: number; cancelled?: boolean } };
      answer_buffer: string[];
      chat: { first?: string; second?: string; text: string[] };
      models: string[];
      picked: string;
    }

    it('starts the daemon, asks and streams, cancels, reads the statusline, and its commands work (headless Neovim)', async () => {
      need('nvim', 'neovim');
      const { s, fast } = await sandbox();
      const outFile = path.join(s.dir, 'nvim-out.json');
      const file = path.join(s.dir, 'sample.lua');
      fs.writeFileSync(file, 'local saved_on_disk = true\nreturn saved_on_disk\n');
      const result = await runProgram(
        'nvim',
        [
          '--headless',
          '-u',
          'NONE',
          '-i',
          'NONE',
          '--cmd',
          `set rtp^=${path.join(EDITORS, 'nvim')}`,
          '-c',
          'runtime plugin/aid.lua',
          '-c',
          `luafile ${path.join(DRIVERS, 'nvim-driver.lua')}`,
        ],
        { ...s.env, AID_TEST_OUT: outFile, AID_TEST_FILE: file, AID_CMD: JSON.stringify([process.execPath, AID_BIN]) },
        50000,
        s.dir,
      );
      assert.ok(fs.existsSync(outFile), `nvim wrote nothing: ${result.stderr}${result.stdout}`);
      const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as NvimOut;
      assert.equal(out.lua_error, undefined);
      assert.equal(out.socket, s.socket, 'AID_SOCKET is the socket');
      assert.equal(out.statusline_down, '');
      assert.equal(out.statusline_down_after, '', 'empty while the daemon is down, and the statusline did not start it');

      // The ask started the daemon with `aid start`, then streamed.
      assert.equal(out.ask.error, undefined, JSON.stringify(out.ask.error));
      assert.deepEqual(out.ask.start, { ref: 'ollama/llama3.2:latest', sessionId: out.ask.done?.sessionId });
      assert.equal(out.ask.start_before_delta, true, 'on_start comes before the first text');
      assert.equal(out.ask.deltas.join(''), 'Echo: hello from neovim');
      assert.equal(out.ask.done?.type, 'done');
      assert.equal(out.ask.done?.ref, 'ollama/llama3.2:latest');

      assert.equal(out.statusline_up, 'aid $0 today · daily $5.00 left');

      assert.equal(out.cancel.done, undefined);
      assert.equal(out.cancel.error?.code, -32800);
      assert.equal(out.cancel.error?.cancelled, true);
      assert.ok(out.cancel.deltas >= 1 && out.cancel.deltas < 60, `cancelled mid-answer (${out.cancel.deltas} deltas)`);

      // :AidAsk over lines 1-2 of the edited, unsaved buffer.
      const asked = chatPrompts(fast).find((p) => p.includes('what do these lines do')) ?? '';
      assert.ok(asked.startsWith('Selected in sample.lua (lines 1-2):\n```lua\nlocal unsaved_edit = true\nreturn saved_on_disk\n```'), asked);
      assert.equal(out.answer_buffer[0], '# what do these lines do');
      assert.ok(
        out.answer_buffer.some((l) => l.startsWith('_ollama/llama3.2:latest · ')),
        out.answer_buffer.join('\n'),
      );

      // One chat session for both messages, with both turns in it.
      assert.ok(out.chat.first);
      assert.equal(out.chat.second, out.chat.first, 'the chat keeps its session');
      const session = await connect(s);
      const shown = await session.connection.sendRequest(SessionsShowRequest, { id: out.chat.first ?? '' });
      session.close();
      assert.deepEqual(
        shown.turns.map((t) => t.user),
        ['first message', 'second message'],
      );

      assert.deepEqual(out.models.map((m) => m.split(' ')[0]).sort(), ['ollama/llama3.2:latest', 'slow/llama3.2:latest', 'slow/qwen2.5-coder:7b']);
      assert.ok(
        out.models.every((m) => !m.includes('embed')),
        'embedding models are not offered',
      );
      assert.match(out.picked, /^(ollama|slow)\/llama3\.2:latest$/);
    });
  });

  describe('Emacs (editors/emacs/aid.el)', () => {
    interface EmacsOut {
      elispError?: string;
      socket: string;
      modeLineDown: string;
      daemonAfterModeLine: boolean;
      askId: number;
      done: { type: string; ref: string; sessionId: string };
      answer: string;
      modeLineUp: string;
      cancelled: number;
      cancelAnswer: string;
      regionAnswer: string;
      chatSessions: string[];
      chat: string;
    }

    it('starts the daemon, asks and streams into *aid*, cancels, shows the spend in the mode line, asks about a region and chats (batch Emacs)', async () => {
      need('emacs', 'emacs-nox');
      const { s, fast } = await sandbox();
      // It compiles without a warning (a copy: no .elc is left in the repository).
      const copy = path.join(s.dir, 'aid.el');
      fs.copyFileSync(path.join(EDITORS, 'emacs', 'aid.el'), copy);
      const compiled = await runProgram(
        'emacs',
        ['--batch', '-Q', '--eval', '(setq byte-compile-error-on-warn t)', '-f', 'batch-byte-compile', copy],
        s.env,
        30000,
        s.dir,
      );
      assert.equal(compiled.code, 0, compiled.stderr);
      const outFile = path.join(s.dir, 'emacs-out.json');
      const file = path.join(s.dir, 'sample.el');
      fs.writeFileSync(file, '(defun saved-on-disk () t)\n(saved-on-disk)\n');
      const result = await runProgram(
        'emacs',
        ['--batch', '-Q', '-L', path.join(EDITORS, 'emacs'), '-l', path.join(DRIVERS, 'emacs-driver.el')],
        { ...s.env, AID_TEST_OUT: outFile, AID_TEST_FILE: file, AID_CMD: JSON.stringify([process.execPath, AID_BIN]) },
        50000,
        s.dir,
      );
      assert.ok(fs.existsSync(outFile), `emacs wrote nothing: ${result.stderr}${result.stdout}`);
      const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as EmacsOut;
      assert.equal(out.elispError, undefined, out.elispError);
      assert.equal(out.socket, s.socket);
      assert.equal(out.modeLineDown, '');
      assert.equal(out.daemonAfterModeLine, false, 'the mode line did not start the daemon');

      assert.equal(typeof out.askId, 'number', 'aid-ask returns the request id');
      assert.deepEqual(out.done, { type: 'done', ref: 'ollama/llama3.2:latest', sessionId: out.done.sessionId });
      assert.match(out.answer, /^# hello from emacs\n\nEcho: hello from emacs\n\n_ollama\/llama3\.2:latest · \d+ in \/ \d+ out tokens · free_\n$/);

      assert.equal(out.modeLineUp, 'aid $0 today · daily $5.00 left');

      assert.equal(out.cancelled, 1);
      assert.match(out.cancelAnswer, /w0[\s\S]*\*\*cancelled\*\*/);
      assert.ok(!out.cancelAnswer.includes('w59'), 'stopped before the end');

      const asked = chatPrompts(fast).find((p) => p.includes('what do these lines do')) ?? '';
      assert.ok(asked.startsWith('Selected in sample.el (lines 1-2):\n```emacs-lisp\n;; unsaved edit\n(defun saved-on-disk () t)\n```'), asked);
      assert.match(out.regionAnswer, /_ollama\/llama3\.2:latest · /);

      assert.equal(out.chatSessions.length, 2);
      assert.equal(out.chatSessions[0], out.chatSessions[1], 'aid-chat keeps its session');
      assert.match(out.chat, /## You\n\nfirst message\n\n## aid\n\nEcho: first message[\s\S]*## You\n\nsecond message/);
    });
  });

  describe('a third-party JSON-RPC client (python-lsp-jsonrpc)', () => {
    it('runs several asks at once on one connection, each stream to its own token, and cancels one', async () => {
      const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
      try {
        execFileSync(python, ['-c', 'import pylsp_jsonrpc'], { stdio: 'ignore' });
      } catch {
        throw new Error('python-lsp-jsonrpc is not installed: apt-get install python3-pylsp-jsonrpc (.ci/run does)');
      }
      const words = (prompt: string): string[] => Array.from({ length: 30 }, (_, i) => `${prompt.split(' ').at(-1) ?? ''}.${i}`);
      const sim = await simulator({ tokenDelayMs: 25, reply: (_model, messages) => words(messages.at(-1)?.content ?? '').join(' ') });
      const s = pool.make({ config: { hosts: { slow: { provider: 'ollama', baseUrl: sim.url } } } });
      await startForeground(s);
      const result = await runProgram(
        python,
        [path.join(DRIVERS, 'pylsp_client.py')],
        { ...s.env, AID_PROTOCOL_VERSION: String(PROTOCOL_VERSION) },
        30000,
        s.dir,
      );
      assert.equal(result.code, 0, result.stderr);
      const out = JSON.parse(result.stdout) as {
        handshake: { protocolVersion: number };
        allStreamingAtOnce: boolean;
        results: Record<string, { sessionId: string; finishReason: string }>;
        texts: Record<string, string>;
        starts: Record<string, { ref: string; sessionId: string }>;
        statusAfter: number;
        cancelAnswer: { type: string; code: number };
      };
      assert.equal(out.handshake.protocolVersion, PROTOCOL_VERSION);
      assert.equal(out.allStreamingAtOnce, true, 'the four asks streamed at the same time');
      for (const i of [0, 1, 2]) {
        const token = `p-${i}`;
        assert.equal(out.texts[token], words(`question number ${i}`).join(' '), `${token} got only its own text`);
        assert.equal(out.results[token].finishReason, 'stop');
        assert.equal(out.starts[token].sessionId, out.results[token].sessionId);
      }
      assert.deepEqual(out.cancelAnswer, { type: 'JsonRpcRequestCancelled', code: -32800 });
      const cut = out.texts['p-3'];
      assert.ok(cut.startsWith('3.0') && cut.length < words('3').join(' ').length, `the cancelled ask stopped early: ${cut}`);
      assert.ok(out.statusAfter > 0, 'the connection still serves after the cancel');
      // The cancelled call is recorded as such (the daemon's ledger), and nothing else went wrong.
      const calls = sim.requests.filter((r) => r.path === '/api/chat').length;
      assert.equal(calls, 4);
    });
  });
});

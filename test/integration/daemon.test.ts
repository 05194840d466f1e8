import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AskRequest, AskDeltaNotification } from '../../protocol/chat';
import { StatusRequest } from '../../protocol/daemon';
import { ErrorCodes } from '../../protocol/errors';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AIC_BIN, aic, aid, connect, isAlive, makeSandbox, startForeground, waitFor, SandboxPool, type Sandbox } from '../helpers/daemon';

function lockPid(sandbox: Sandbox): number {
  return Number.parseInt(fs.readFileSync(`${sandbox.socket}.lock`, 'utf8'), 10);
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('daemon lifecycle', function () {
  this.timeout(30000);
  const pool = new SandboxPool();
  const sandbox = (options?: Parameters<typeof makeSandbox>[0]): Sandbox => pool.make(options);
  afterEach(async () => {
    await pool.teardownAll();
  });

  it('starts detached, prints the socket path, and a second start reports the running daemon', async () => {
    const s = sandbox();
    const first = await aid(['start'], s);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), s.socket);
    const pid = lockPid(s);
    assert.ok(isAlive(pid));
    const second = await aid(['start'], s);
    assert.equal(second.code, 0);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${pid}\\)`));
    assert.equal(second.stdout.trim(), s.socket);
    const status = JSON.parse((await aid(['status', '--json'], s)).stdout) as { pid: number };
    assert.equal(status.pid, pid);
  });

  it('ends with exactly one daemon when two starts race', async () => {
    const s = sandbox();
    const results = await Promise.all([aid(['start'], s), aid(['start'], s), aid(['start'], s)]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const pid = lockPid(s);
    const pids = results.map((r) => Number(/pid (\d+)/.exec(r.stderr)?.[1]));
    assert.deepEqual(new Set(pids), new Set([pid]));
    const daemons = (): string[] =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
            const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8');
            return cmd.includes('aid.js') && cmd.includes('--foreground') && env.includes(`AID_SOCKET=${s.socket}`);
          } catch {
            return false;
          }
        });
    // A starter whose child lost the lock may return before that child has noticed and exited.
    await waitFor(
      () => daemons().length === 1,
      10000,
      () => `one daemon, found ${daemons().join(', ')}`,
    );
    assert.deepEqual(daemons(), [String(pid)]);
    assert.ok(isAlive(pid));
  });

  it('runs two daemons side by side with separate sockets and data', async () => {
    const a = sandbox();
    const b = sandbox();
    assert.equal((await aid(['start'], a)).code, 0);
    assert.equal((await aid(['start'], b)).code, 0);
    assert.notEqual(lockPid(a), lockPid(b));
    const sa = JSON.parse((await aic(['status', '--json'], a)).stdout) as { socket: string; pid: number };
    const sb = JSON.parse((await aic(['status', '--json'], b)).stdout) as { socket: string; pid: number };
    assert.equal(sa.socket, a.socket);
    assert.equal(sb.socket, b.socket);
    assert.ok(fs.existsSync(path.join(a.dataDir, 'aid.lmdb')));
    assert.ok(fs.existsSync(path.join(b.dataDir, 'aid.lmdb')));
  });

  it('replaces the stale socket of a daemon killed with SIGKILL', async () => {
    const s = sandbox();
    const daemon = await startForeground(s);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    assert.ok(fs.existsSync(s.socket), 'a killed daemon leaves its socket');
    assert.ok(fs.existsSync(`${s.socket}.lock`), 'and its lock');
    const started = await aid(['start'], s);
    assert.equal(started.code, 0, started.stderr);
    assert.notEqual(lockPid(s), daemon.pid);
    assert.equal((await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } })).code, 0);
    assert.match(fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8'), /removed a stale socket/);
  });

  it('keeps its socket dir 0700, socket and files 0600, and writes the registration', async () => {
    const s = sandbox();
    fs.rmdirSync(path.dirname(s.socket));
    assert.equal((await aid(['start'], s)).code, 0);
    assert.equal(mode(path.dirname(s.socket)), 0o700);
    assert.equal(mode(s.socket), 0o600);
    assert.equal(mode(`${s.socket}.lock`), 0o600);
    const registration = JSON.parse(fs.readFileSync(path.join(s.stateDir, 'aid.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(registration.pid, lockPid(s));
    assert.equal(registration.socket, s.socket);
    assert.equal(registration.version, (JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version);
    assert.equal(mode(path.join(s.stateDir, 'aid.json')), 0o600);
    assert.equal(mode(path.join(s.stateDir, 'aid.log')), 0o600);
  });

  it('refuses a socket directory owned by another user', async () => {
    const s = sandbox();
    fs.chownSync(path.dirname(s.socket), 65534, 65534);
    const result = await aid(['start', '--foreground'], s);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /refusing to use socket directory .*belongs to uid 65534/);
    assert.ok(!fs.existsSync(s.socket));
  });

  it('refuses a socket directory other users can enter, with the chmod to run', async () => {
    const s = sandbox();
    fs.chmodSync(path.dirname(s.socket), 0o755);
    const result = await aid(['start'], s);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /mode 755.*chmod 700/);
  });

  it('explains a socket path too long for a Unix socket', async () => {
    const s = sandbox();
    const long = path.join(s.dir, 'x'.repeat(120), 'aid.sock');
    const result = await aid(['start', '--foreground'], s, { env: { AID_SOCKET: long } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`socket path is ${Buffer.byteLength(long)} bytes, more than the 107`));
    assert.match(result.stderr, /AID_SOCKET/);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`shuts down in order on ${signal}: socket, registration and lock removed, exit 0`, async () => {
      const s = sandbox();
      const daemon = await startForeground(s);
      daemon.child.kill(signal);
      const exit = await daemon.exited;
      assert.equal(exit.code, 0, daemon.stderr());
      assert.ok(!fs.existsSync(s.socket));
      assert.ok(!fs.existsSync(`${s.socket}.lock`));
      assert.ok(!fs.existsSync(path.join(s.stateDir, 'aid.json')));
      const log = fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8');
      assert.match(log, new RegExp(`shutting down reason="signal ${signal}"`));
      assert.ok(log.indexOf('shutting down') < log.lastIndexOf('stopped'));
    });
  }

  it('runs the shutdown once when signalled twice', async () => {
    const s = sandbox();
    const daemon = await startForeground(s);
    daemon.child.kill('SIGTERM');
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.exited).code, 0);
    const log = fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8');
    assert.equal(log.match(/shutting down/g)?.length, 1);
  });

  it('aid stop, restart and status behave when running and when not', async () => {
    const s = sandbox();
    const notRunning = await aid(['status'], s);
    assert.equal(notRunning.code, 5);
    assert.match(notRunning.stderr, /not running/);
    assert.match((await aid(['stop'], s)).stderr, /not running/);
    await aid(['start'], s);
    const first = lockPid(s);
    const restarted = await aid(['restart'], s);
    assert.equal(restarted.code, 0, restarted.stderr);
    const second = lockPid(s);
    assert.notEqual(first, second);
    assert.ok(!isAlive(first));
    const stopped = await aid(['stop'], s);
    assert.equal(stopped.code, 0);
    assert.match(stopped.stderr, new RegExp(`stopped \\(pid ${second}\\)`));
    assert.ok(!isAlive(second));
    assert.ok(!fs.existsSync(s.socket));
  });

  it('logs with timestamps and levels and never writes API keys anywhere', async () => {
    const anthropicKey = 'sk-ant-test-SECRET-value-1234567890';
    const openaiKey = 'sk-proj-another-SECRET-0987654321abcdef';
    const s = sandbox({ env: { ANTHROPIC_API_KEY: anthropicKey, OPENAI_API_KEY: openaiKey } });
    const outputs = [
      await aid(['start'], s),
      await aid(['status', '--json'], s),
      await aic(['status', '--json'], s),
      await aic(['hosts', '--json'], s),
      await aic(['ask', '-m', 'anthropic/claude-x', 'hi'], s),
    ];
    await aid(['stop'], s);
    const log = fs.readFileSync(path.join(s.stateDir, 'aid.log'), 'utf8');
    assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}aid started/m);
    for (const text of [log, ...outputs.flatMap((o) => [o.stdout, o.stderr])]) {
      assert.ok(!text.includes(anthropicKey) && !text.includes(openaiKey), `a key leaked into: ${text.slice(0, 200)}`);
    }
  });

  describe('with a streaming answer in flight', () => {
    let sim: OllamaSimulator;
    beforeEach(async () => {
      sim = new OllamaSimulator({ tokenDelayMs: 40, reply: () => Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ') });
      await sim.start();
    });
    afterEach(() => sim.stop());

    it('SIGTERM aborts the upstream stream, tells the client, and exits cleanly', async () => {
      const s = sandbox({ ollamaUrl: sim.url });
      const daemon = await startForeground(s);
      const client = spawn(process.execPath, [AIC_BIN, 'ask', '--json', '-m', 'ollama/llama3.2', 'a long answer please'], {
        env: s.env,
        cwd: s.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      client.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const clientExit = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)));
      await sim.waitForFirstChunk();
      await waitFor(
        () => stdout.includes('"delta"'),
        10000,
        () => 'a delta at the client',
      );
      const aborted = sim.waitForAbort();
      daemon.child.kill('SIGTERM');
      await aborted;
      assert.notEqual(await clientExit, 0);
      const last = JSON.parse(stdout.trim().split('\n').pop() as string) as { type: string; code: number; message: string };
      assert.equal(last.type, 'error');
      assert.equal(last.code, ErrorCodes.ShuttingDown);
      assert.match(last.message, /shutting down/);
      assert.equal((await daemon.exited).code, 0);
      assert.ok(!fs.existsSync(s.socket));
    });

    it('a client that disconnects mid-stream gets its upstream request aborted', async () => {
      const s = sandbox({ ollamaUrl: sim.url });
      await startForeground(s);
      const session = await connect(s);
      let deltas = 0;
      session.connection.onNotification(AskDeltaNotification, () => {
        deltas++;
      });
      session.connection.sendRequest(AskRequest, { prompt: 'go', model: 'ollama/llama3.2', streamToken: 't1' }).catch(() => undefined);
      await waitFor(
        () => deltas > 0,
        10000,
        () => 'first delta',
      );
      const aborted = sim.waitForAbort();
      session.socket.destroy();
      await aborted;
      assert.equal(sim.abortedStreams, 1);
      const again = await connect(s);
      const status = await again.connection.sendRequest(StatusRequest);
      again.close();
      await waitFor(
        async () => {
          const next = await connect(s);
          const st = await next.connection.sendRequest(StatusRequest);
          next.close();
          return st.store.requests === 1;
        },
        10000,
        () => 'the cancelled call to be recorded',
      );
      assert.ok(status.pid > 0);
    });
  });
});

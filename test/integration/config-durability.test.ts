import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from 'lmdb';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { RawClient } from '../helpers/raw-rpc';
import { LogNotification, type LogParams } from '../../protocol/daemon';
import {
  AIC_BIN,
  ROOT,
  aic,
  aid,
  connect,
  isAlive,
  makeSandbox,
  readPackageVersion,
  startForeground,
  waitFor,
  writeConfig,
  SandboxPool,
  type Sandbox,
} from '../helpers/daemon';

interface HostRow {
  name: string;
  health: string;
  baseUrl: string;
}

async function hostNames(s: Sandbox): Promise<string[]> {
  const result = await aic(['hosts', '--json'], s);
  return (JSON.parse(result.stdout) as HostRow[]).map((h) => h.name);
}

/** A copy of this package that claims another version: a daemon "from another build". */
function packageCopy(version: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-pkg-'));
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  pkg.version = version;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  for (const sub of ['dist', 'daemon/bin', 'client/bin', 'systemd']) fs.cpSync(path.join(ROOT, sub), path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe('config and durability', function () {
  this.timeout(40000);
  let sim: OllamaSimulator;
  const pool = new SandboxPool();
  const cleanups: string[] = [];
  const sandbox = (options?: Parameters<typeof makeSandbox>[0]): Sandbox => pool.make(options);
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
  });
  afterEach(async () => {
    await pool.teardownAll();
    for (const dir of cleanups.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    await sim.stop();
  });

  it('refuses to start on a bad config, naming the file, the key and what was expected', async () => {
    const s = sandbox({ config: { hosts: { gpu: { provider: 'olama', baseUrl: 'http://x' } } } });
    const result = await aid(['start'], s);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(s.configFile), result.stderr);
    assert.match(result.stderr, /hosts\.gpu\.provider: .*expected one of .*"ollama"/);
    assert.match(result.stderr, /then run `aid start`/, 'the daemon is not running, so reload would not help');
    assert.ok(!fs.existsSync(s.socket));
    assert.ok(!fs.existsSync(`${s.socket}.lock`));
    writeConfig(s, '{ "logLevel": "info", }');
    const json = await aid(['start'], s);
    assert.equal(json.code, 1);
    assert.ok(json.stderr.includes(s.configFile), json.stderr);
    assert.match(json.stderr, /invalid JSON/);
    assert.ok(!fs.existsSync(s.socket));
    writeConfig(s, { healthIntervalSec: 'often', colour: true });
    const types = await aic(['status'], s);
    assert.equal(types.code, 1);
    assert.match(types.stderr, /healthIntervalSec: .*number/);
    assert.match(types.stderr, /colour/);
  });

  it('a running daemon keeps its last good config, and follows file changes', async () => {
    const s = sandbox({ ollamaUrl: sim.url, config: { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: sim.url } } } });
    assert.equal((await aid(['start'], s)).code, 0);
    const pid = (JSON.parse((await aic(['status', '--json'], s)).stdout) as { pid: number }).pid;
    const listed = JSON.parse((await aic(['hosts', '--json'], s)).stdout) as HostRow[];
    const gpu = listed.find((h) => h.name === 'gpu-box');
    assert.equal(gpu?.baseUrl, sim.url);
    assert.equal(gpu?.health, 'up');
    const models = JSON.parse((await aic(['models', '--json'], s)).stdout) as { ref: string }[];
    assert.ok(models.some((m) => m.ref === 'gpu-box/llama3.2:latest'));

    writeConfig(s, { hosts: { 'gpu-box': { provider: 'ollama' } } });
    const reload = await aid(['reload'], s);
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /hosts\.gpu-box\.baseUrl/);
    assert.match(reload.stderr, /keeps its last good config/);
    const status = JSON.parse((await aic(['status', '--json'], s)).stdout) as { pid: number; config: { error?: string } };
    assert.equal(status.pid, pid, 'the same daemon is still up');
    assert.ok(isAlive(pid));
    assert.match(status.config.error ?? '', /baseUrl/);
    assert.ok((await hostNames(s)).includes('gpu-box'), 'old host still served');

    writeConfig(s, { hosts: { 'gpu-box': { provider: 'ollama', baseUrl: sim.url }, 'other-box': { provider: 'ollama', baseUrl: sim.url } } });
    await waitFor(
      async () => (await hostNames(s)).includes('other-box'),
      10000,
      () => 'the watcher to load other-box',
    );
    const after = JSON.parse((await aic(['status', '--json'], s)).stdout) as { config: { error?: string; loaded: boolean } };
    assert.equal(after.config.error, undefined);
    assert.equal(after.config.loaded, true);
    assert.equal((await aid(['reload'], s)).code, 0);
    assert.equal((JSON.parse((await aic(['status', '--json'], s)).stdout) as { pid: number }).pid, pid, 'changes applied without a restart');
  });

  it('tells connected clients when the watched config is rejected (aid/log)', async () => {
    const s = sandbox({ ollamaUrl: sim.url, config: { logLevel: 'info' } });
    await startForeground(s);
    const session = await connect(s);
    // Connected but never handshaken: it must not be sent anything.
    const silent = await RawClient.connect(s.socket);
    try {
      const logs: LogParams[] = [];
      session.connection.onNotification(LogNotification, (log) => {
        logs.push(log);
      });
      writeConfig(s, { logLevel: 'loud' });
      await waitFor(
        () => logs.length > 0,
        10000,
        () => 'an aid/log notification',
      );
      assert.equal(logs[0]?.level, 'error');
      assert.ok(logs[0]?.message.includes(s.configFile));
      assert.match(logs[0]?.message ?? '', /rejected, last good config kept: logLevel: /);
      assert.equal(silent.received, 0);
    } finally {
      session.close();
      silent.close();
    }
  });

  it('aic shows the rejection on stderr while a command is running', async () => {
    sim.setTokenDelay(100);
    const s = sandbox({ ollamaUrl: sim.url });
    await startForeground(s);
    const child = spawn(process.execPath, [AIC_BIN, 'ask', '-m', 'ollama/llama3.2', 'one two three four five six seven eight'], {
      env: s.env,
      cwd: s.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(
      () => stdout.length > 0,
      10000,
      () => 'the answer to start',
    );
    writeConfig(s, { probeTimeoutMs: 'soon' });
    assert.equal(await exited, 0);
    assert.match(stderr, /^aid: error: config .* rejected, last good config kept: probeTimeoutMs: /m);
    assert.equal(stdout, 'Echo: one two three four five six seven eight\n');
  });

  it('a committed request survives kill -9 of the daemon', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const daemon = await startForeground(s);
    const asked = await aic(['ask', '-m', 'ollama/llama3.2', 'remember me'], s);
    assert.equal(asked.code, 0, asked.stderr);
    const before = JSON.parse((await aic(['status', '--json'], s)).stdout) as { pid: number; store: { requests: number } };
    assert.equal(before.pid, daemon.pid);
    assert.equal(before.store.requests, 1);
    daemon.child.kill('SIGKILL');
    assert.equal((await daemon.exited).signal, 'SIGKILL');
    assert.equal((await aid(['start'], s)).code, 0);
    const status = JSON.parse((await aic(['status', '--json'], s)).stdout) as { pid: number; store: { requests: number; schemaVersion: number } };
    assert.notEqual(status.pid, daemon.pid);
    assert.equal(status.store.requests, 1);
    assert.equal(status.store.schemaVersion, 1);
    assert.equal((await aid(['stop'], s)).code, 0);
    const root = open({ path: path.join(s.dataDir, 'aid.lmdb'), encoding: 'msgpack', maxDbs: 32, readOnly: true });
    try {
      const rows = [...root.openDB({ name: 'requests', encoding: 'msgpack' }).getRange()].map((e) => e.value as Record<string, unknown>);
      assert.equal(rows.length, 1);
      const row = rows[0] as { host: string; model: string; outcome: string; usage: { inputTokens: number; outputTokens: number }; costUsd: number };
      assert.equal(row.host, 'ollama');
      assert.equal(row.model, 'llama3.2:latest');
      assert.equal(row.outcome, 'ok');
      assert.ok(row.usage.outputTokens > 0);
      assert.equal(row.usage.outputTokens, 3, 'eval_count of "Echo: remember me"');
      assert.equal(row.costUsd, 0);
    } finally {
      await root.close();
    }
  });

  it('the client replaces a daemon of another build', async () => {
    const s = sandbox({ ollamaUrl: sim.url });
    const other = packageCopy('9.9.9-test');
    cleanups.push(other);
    const old = await startForeground(s, { bin: path.join(other, 'daemon', 'bin', 'aid.js') });
    const before = JSON.parse((await aid(['status', '--json'], s)).stdout) as { version: string };
    assert.equal(before.version, '9.9.9-test');

    const refused = await aic(['status'], s, { env: { AID_NO_AUTOSTART: '1' } });
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /another version \(daemon 9\.9\.9-test, client .*\).*aid restart/);
    assert.ok(isAlive(old.pid));

    const result = await aic(['status', '--json'], s);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /restarting aid \(daemon 9\.9\.9-test, client /);
    const status = JSON.parse(result.stdout) as { version: string; pid: number };
    assert.equal(status.version, readPackageVersion());
    assert.notEqual(status.pid, old.pid);
    assert.equal((await old.exited).code, 0);
  });
});

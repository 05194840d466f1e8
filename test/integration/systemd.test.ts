import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OllamaSimulator } from '../fakes/ollama-simulator';
import { AID_BIN, ROOT, aic, aid, makeSandbox, teardown, waitFor, type Sandbox } from '../helpers/daemon';

/** Tools from Debian's `systemd` package; .ci/run installs it, so a missing tool fails here. */
function requireTool(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  assert.ok(found, `${name} is not installed: apt-get install systemd (CI's .ci/run does)`);
}

describe('systemd integration', function () {
  this.timeout(30000);
  let s: Sandbox;
  afterEach(() => teardown(s));

  it('install-service writes both units with this installation filled in, and systemd-analyze verifies them', async () => {
    requireTool('systemd-analyze');
    s = makeSandbox();
    const result = await aid(['install-service'], s);
    assert.equal(result.code, 0, result.stderr);
    const dir = path.join(s.env.XDG_CONFIG_HOME as string, 'systemd', 'user');
    const service = fs.readFileSync(path.join(dir, 'aid.service'), 'utf8');
    const socket = fs.readFileSync(path.join(dir, 'aid.socket'), 'utf8');
    assert.ok(service.includes(`ExecStart=${process.execPath} ${path.join(ROOT, 'daemon', 'bin', 'aid.js')} start --foreground`));
    assert.match(service, /^Restart=on-failure$/m);
    assert.match(socket, /^ListenStream=%t\/aid\/aid\.sock$/m);
    assert.match(socket, /^SocketMode=0600$/m);
    assert.match(socket, /^DirectoryMode=0700$/m);
    assert.ok(!/@(NODE|ROOT)@/.test(service + socket), 'every placeholder filled');
    for (const line of ['systemctl --user daemon-reload', 'systemctl --user enable --now aid.socket', 'systemctl --user enable --now aid.service']) {
      assert.ok(result.stdout.includes(line), line);
    }
    // A user manager needs a runtime dir; give it a private one.
    const runtime = path.join(s.dir, 'xdg-runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const verify = spawnSync('systemd-analyze', ['verify', '--user', path.join(dir, 'aid.socket'), path.join(dir, 'aid.service')], {
      env: { ...s.env, XDG_RUNTIME_DIR: runtime },
      encoding: 'utf8',
    });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'systemd-analyze has no complaints');
  });

  it('systemd-analyze would catch a broken unit (the check above can fail)', () => {
    requireTool('systemd-analyze');
    s = makeSandbox();
    const dir = path.join(s.dir, 'units');
    fs.mkdirSync(dir);
    const broken = fs
      .readFileSync(path.join(ROOT, 'systemd', 'aid.service'), 'utf8')
      .replace('@NODE@', '/nonexistent/node')
      .split('@ROOT@')
      .join(ROOT);
    fs.writeFileSync(path.join(dir, 'aid.service'), broken);
    fs.writeFileSync(
      path.join(dir, 'aid.socket'),
      fs
        .readFileSync(path.join(ROOT, 'systemd', 'aid.socket'), 'utf8')
        .split('@ROOT@')
        .join(ROOT),
    );
    const runtime = path.join(s.dir, 'xdg-runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const verify = spawnSync('systemd-analyze', ['verify', '--user', path.join(dir, 'aid.socket'), path.join(dir, 'aid.service')], {
      env: { ...s.env, XDG_RUNTIME_DIR: runtime },
      encoding: 'utf8',
    });
    assert.notEqual(verify.status, 0);
    assert.match(verify.stderr, /not executable/);
  });

  describe('socket activation', () => {
    let sim: OllamaSimulator;
    beforeEach(async () => {
      sim = new OllamaSimulator();
      await sim.start();
    });
    afterEach(() => sim.stop());

    it('the first client connection starts the daemon on the socket systemd hands it', async () => {
      requireTool('systemd-socket-activate');
      s = makeSandbox({ ollamaUrl: sim.url });
      const passEnv = ['AID_SOCKET', 'AID_DATA_DIR', 'AID_STATE_DIR', 'AID_CONFIG', 'OLLAMA_HOST', 'HOME'].flatMap((k) => ['-E', k]);
      // Like systemd's aid.socket: bind now, start the service on the first connection.
      const activator = spawn('systemd-socket-activate', ['-l', s.socket, ...passEnv, process.execPath, AID_BIN, 'start', '--foreground'], {
        env: s.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      activator.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => activator.on('exit', (code) => resolve(code)));
      try {
        await waitFor(
          () => stderr.includes('Listening on'),
          10000,
          () => `systemd-socket-activate to listen: ${stderr}`,
        );
        assert.ok(!stderr.includes('Execing'), 'nothing started before the first client');

        const status = await aic(['status', '--json'], s, { env: { AID_NO_AUTOSTART: '1' } });
        assert.equal(status.code, 0, `${status.stderr}\n${stderr}`);
        const parsed = JSON.parse(status.stdout) as { activation: string; pid: number };
        assert.equal(parsed.activation, 'systemd');
        assert.equal(parsed.pid, activator.pid, 'the activator exec()s the daemon in its own process');

        const asked = await aic(['ask', '-m', 'ollama/llama3.2', 'through systemd'], s, { env: { AID_NO_AUTOSTART: '1' } });
        assert.equal(asked.code, 0, asked.stderr);
        assert.equal(asked.stdout, 'Echo: through systemd\n');
      } finally {
        activator.kill('SIGTERM');
      }
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /shutting down reason="signal SIGTERM"/);
      // The socket belongs to systemd: the daemon leaves it in place for the next activation.
      assert.ok(fs.existsSync(s.socket));
    });
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeConfigError, loadConfig } from '../../daemon/config/load';
import { resolvePaths } from '../../daemon/config/paths';
import { socketPathFromEnv } from '../../protocol/paths';

describe('config', () => {
  let dir: string;
  const file = (): string => path.join(dir, 'config.json');
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-cfg-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses defaults when the file does not exist', () => {
    const result = loadConfig(file());
    assert.ok(result.ok);
    assert.equal(result.exists, false);
    assert.equal(result.config.logLevel, 'info');
    assert.equal(result.config.healthIntervalSec, 30);
    assert.deepEqual(result.config.hosts, {});
  });

  it('reports invalid JSON', () => {
    fs.writeFileSync(file(), '{"logLevel": "info",}');
    const result = loadConfig(file());
    assert.ok(!result.ok);
    assert.match(result.issues[0], /^invalid JSON: /);
  });

  it('names the key and the allowed values of a wrong provider', () => {
    fs.writeFileSync(file(), JSON.stringify({ hosts: { gpu: { provider: 'olama', baseUrl: 'http://x:1' } } }));
    const result = loadConfig(file());
    assert.ok(!result.ok);
    assert.equal(result.issues.length, 1);
    assert.match(result.issues[0], /^hosts\.gpu\.provider: .*"anthropic".*"ollama"/);
  });

  it('rejects unknown keys, built-in host names and wrong types', () => {
    fs.writeFileSync(file(), JSON.stringify({ colour: 'blue', healthIntervalSec: 'often', hosts: { ollama: { provider: 'ollama', baseUrl: 'http://x' } } }));
    const result = loadConfig(file());
    assert.ok(!result.ok);
    const text = result.issues.join('\n');
    assert.match(text, /colour/);
    assert.match(text, /healthIntervalSec: .*number/);
    assert.match(text, /hosts\.ollama: "ollama" is a built-in host/);
  });

  it('accepts a full valid config', () => {
    const config = {
      defaultModel: 'gpu-box/qwen2.5-coder:7b',
      logLevel: 'debug',
      hosts: { 'gpu-box': { provider: 'ollama', baseUrl: 'http://192.168.1.20:11434' }, work: { provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'WORK_KEY' } },
      healthIntervalSec: 10,
      probeTimeoutMs: 500,
      handshakeTimeoutMs: 1000,
      ollama: { keepAlive: '10m' },
    };
    fs.writeFileSync(file(), JSON.stringify(config));
    const result = loadConfig(file());
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.config, config);
  });

  it('describes an error with the file and what to do', () => {
    const text = describeConfigError('/x/config.json', ['a: expected b']);
    assert.match(text, /invalid config \/x\/config\.json:\n {2}- a: expected b\n.*aid reload/);
  });

  it('resolves paths from XDG variables and aid overrides', () => {
    const xdg = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/7', XDG_CONFIG_HOME: '/c', XDG_DATA_HOME: '/d', XDG_STATE_HOME: '/s' }, '/home/u', 7);
    assert.equal(xdg.socket, '/run/user/7/aid/aid.sock');
    assert.equal(xdg.lockFile, '/run/user/7/aid/aid.sock.lock');
    assert.equal(xdg.configFile, '/c/aid/config.json');
    assert.equal(xdg.dataDir, '/d/aid');
    assert.equal(xdg.stateDir, '/s/aid');
    assert.equal(xdg.logFile, '/s/aid/aid.log');
    assert.equal(xdg.registrationFile, '/s/aid/aid.json');
    const home = resolvePaths({ XDG_CONFIG_HOME: 'relative/ignored' }, '/home/u', 7);
    assert.equal(home.socket, '/tmp/aid-7/aid.sock');
    assert.equal(home.configFile, '/home/u/.config/aid/config.json');
    assert.equal(home.dataDir, '/home/u/.local/share/aid');
    assert.equal(home.stateDir, '/home/u/.local/state/aid');
    const overridden = resolvePaths({ AID_SOCKET: '/a/s.sock', AID_CONFIG: '/a/c.json', AID_DATA_DIR: '/a/d', AID_STATE_DIR: '/a/st' }, '/home/u', 7);
    assert.deepEqual([overridden.socket, overridden.configFile, overridden.dataDir, overridden.stateDir], ['/a/s.sock', '/a/c.json', '/a/d', '/a/st']);
    assert.equal(socketPathFromEnv({}, 1000), '/tmp/aid-1000/aid.sock');
  });
});

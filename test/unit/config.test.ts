import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeConfigError, loadConfig, type ConfigLoad } from '../../daemon/config/load';
import { resolvePaths } from '../../daemon/config/paths';
import { configSchema } from '../../daemon/config/schema';
import { PROVIDER_KINDS } from '../../protocol/hosts';
import { lockPathFor, socketPathFromEnv } from '../../protocol/paths';

function issuesOf(result: ConfigLoad): string[] {
  assert.ok(!result.ok, `expected the config to be rejected, got ${JSON.stringify(result)}`);
  return result.issues;
}

describe('config', () => {
  let dir: string;
  const file = (): string => path.join(dir, 'config.json');
  const write = (value: unknown): void => fs.writeFileSync(file(), typeof value === 'string' ? value : JSON.stringify(value));
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-cfg-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('loadConfig', () => {
    it('uses the defaults when the file does not exist', () => {
      const result = loadConfig(file());
      assert.ok(result.ok);
      assert.equal(result.exists, false);
      assert.equal(result.file, file());
      assert.deepEqual(result.config, configSchema.parse({}));
      assert.equal(result.config.logLevel, 'info');
      assert.equal(result.config.healthIntervalSec, 30);
      assert.equal(result.config.probeTimeoutMs, 2000);
      assert.deepEqual(result.config.hosts, {});
      assert.equal(result.config.defaultModel, undefined);
    });

    it('treats an empty file as defaults, but marks it as existing', () => {
      write('  \n');
      const result = loadConfig(file());
      assert.ok(result.ok);
      assert.equal(result.exists, true);
      assert.deepEqual(result.config, configSchema.parse({}));
    });

    it('reports invalid JSON as such', () => {
      write('{"logLevel": "info",}');
      const issues = issuesOf(loadConfig(file()));
      assert.equal(issues.length, 1);
      assert.match(issues[0], /^invalid JSON: /);
    });

    it('reports a file it cannot read without throwing', () => {
      fs.mkdirSync(file());
      const issues = issuesOf(loadConfig(file()));
      assert.match(issues[0], /cannot read the file \(EISDIR\)/);
    });

    it('names hosts.NAME.provider and every allowed provider for a wrong one', () => {
      write({ hosts: { gpu: { provider: 'olama', baseUrl: 'http://x:1' } } });
      const issues = issuesOf(loadConfig(file()));
      assert.equal(issues.length, 1);
      assert.match(issues[0], /^hosts\.gpu\.provider: /);
      for (const provider of PROVIDER_KINDS) assert.ok(issues[0].includes(`"${provider}"`), `${provider} missing from: ${issues[0]}`);
    });

    it('rejects unknown keys at the top level and inside a host (strict)', () => {
      write({ colour: 'blue' });
      const top = issuesOf(loadConfig(file()));
      assert.equal(top.length, 1);
      assert.match(top[0], /colour/);
      write({ hosts: { gpu: { provider: 'ollama', baseUrl: 'http://x:1', apiKey: 'literal-keys-are-not-allowed' } } });
      assert.match(issuesOf(loadConfig(file())).join('\n'), /^hosts\.gpu: .*apiKey/m);
    });

    it('rejects every built-in host name in hosts', () => {
      for (const name of PROVIDER_KINDS) {
        write({ hosts: { [name]: { provider: 'ollama', baseUrl: 'http://x:1' } } });
        const issues = issuesOf(loadConfig(file()));
        assert.deepEqual(issues, [`hosts.${name}: "${name}" is a built-in host configured from the environment; give this host another name`]);
      }
    });

    it('reports every problem at once, each with its dotted key', () => {
      write({
        healthIntervalSec: 'often',
        logLevel: 'loud',
        hosts: { 'bad name!': { provider: 'ollama', baseUrl: 'http://x' }, gpu: { provider: 'ollama', baseUrl: '', apiKeyEnv: '1X' } },
      });
      const text = issuesOf(loadConfig(file())).join('\n');
      assert.match(text, /^healthIntervalSec: .*number/m);
      assert.match(text, /^logLevel: .*"debug"/m);
      assert.match(text, /^hosts\.bad name!: host names use letters, digits/m);
      assert.match(text, /^hosts\.gpu\.baseUrl: expected a URL/m);
      assert.match(text, /^hosts\.gpu\.apiKeyEnv: expected an environment variable name/m);
    });

    it('explains a bad cron expression, time zone, price key or webhook URL', () => {
      write({
        alerts: { checkCron: 'every five minutes', webhookUrl: 'ftp://x' },
        timeZone: 'Mars/Olympus',
        prices: { 'no-slash': { inputPerMTok: 1, outputPerMTok: 1 } },
      });
      const text = issuesOf(loadConfig(file())).join('\n');
      assert.match(text, /^alerts\.checkCron: expected a cron expression such as "0 9 \* \* \*"/m);
      assert.match(text, /^alerts\.webhookUrl: /m);
      assert.match(text, /^timeZone: expected an IANA time zone/m);
      assert.match(text, /^prices\.no-slash: expected HOST\/MODEL or PROVIDER\/MODEL/m);
    });

    it('accepts a full valid config unchanged', () => {
      const config = {
        defaultModel: 'gpu-box/qwen2.5-coder:7b',
        logLevel: 'debug',
        hosts: {
          'gpu-box': { provider: 'ollama', baseUrl: 'http://192.168.1.20:11434' },
          work: { provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'WORK_KEY' },
        },
        healthIntervalSec: 10,
        probeTimeoutMs: 500,
        handshakeTimeoutMs: 1000,
        connectTimeoutMs: 5000,
        idleTimeoutMs: 60000,
        firstTokenTimeoutMs: 90000,
        maxRetryWaitMs: 1000,
        prices: { 'work/ft:gpt-4o-mini:acme': { inputPerMTok: 0.3, outputPerMTok: 1.2, cacheReadPerMTok: 0.15 } },
        timeZone: 'Europe/Paris',
        budgetRefusal: 'downgrade',
        pricesUrl: 'https://prices.example.com/data.json',
        alerts: {
          checkCron: '*/1 * * * *',
          dailyReportCron: '',
          weeklyReportCron: '30 8 * * 5',
          webhookUrl: 'https://hooks.example.com/services/T0/B0/x',
          desktop: false,
        },
        ollama: { keepAlive: '10m', numCtx: 16384 },
        context: {
          enabled: false,
          maxTokens: 20000,
          windowShare: 0.1,
          waitMs: 500,
          idleUnwatchMin: 5,
          maxFiles: 1000,
          maxBytes: 1048576,
          allowBroadProjects: true,
        },
      };
      write(config);
      const result = loadConfig(file());
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.exists, true);
      assert.deepEqual(result.config, config);
    });
  });

  describe('describeConfigError', () => {
    it('names the file, lists the issues and says what to run', () => {
      const text = describeConfigError('/x/aid/config.json', ['a: expected b', 'c: expected d']);
      assert.equal(
        text,
        'invalid config /x/aid/config.json:\n  - a: expected b\n  - c: expected d\nFix the file (or move it away to use defaults), then run `aid reload`.',
      );
      assert.match(describeConfigError('/x/aid/config.json', ['a: b'], 'aid start'), /then run `aid start`\.$/);
    });
  });

  describe('resolvePaths', () => {
    it('follows the XDG variables', () => {
      const p = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/7', XDG_CONFIG_HOME: '/c', XDG_DATA_HOME: '/d', XDG_STATE_HOME: '/s' }, '/home/u', 7);
      assert.deepEqual(p, {
        socket: '/run/user/7/aid/aid.sock',
        lockFile: '/run/user/7/aid/aid.sock.lock',
        configFile: '/c/aid/config.json',
        dataDir: '/d/aid',
        stateDir: '/s/aid',
        logFile: '/s/aid/aid.log',
        registrationFile: '/s/aid/aid.json',
      });
    });

    it('falls back to the home directory and /tmp/aid-UID without XDG variables', () => {
      const p = resolvePaths({}, '/home/u', 7);
      assert.equal(p.socket, '/tmp/aid-7/aid.sock');
      assert.equal(p.configFile, '/home/u/.config/aid/config.json');
      assert.equal(p.dataDir, '/home/u/.local/share/aid');
      assert.equal(p.stateDir, '/home/u/.local/state/aid');
    });

    it('ignores relative XDG values, as the XDG spec requires', () => {
      const p = resolvePaths({ XDG_RUNTIME_DIR: 'run', XDG_CONFIG_HOME: 'relative/c', XDG_DATA_HOME: './d', XDG_STATE_HOME: 's' }, '/home/u', 7);
      assert.equal(p.socket, '/tmp/aid-7/aid.sock');
      assert.equal(p.configFile, '/home/u/.config/aid/config.json');
      assert.equal(p.dataDir, '/home/u/.local/share/aid');
      assert.equal(p.stateDir, '/home/u/.local/state/aid');
    });

    it('lets AID_SOCKET, AID_CONFIG, AID_DATA_DIR and AID_STATE_DIR win over XDG', () => {
      const p = resolvePaths(
        {
          XDG_RUNTIME_DIR: '/run/user/7',
          XDG_CONFIG_HOME: '/c',
          XDG_DATA_HOME: '/d',
          XDG_STATE_HOME: '/s',
          AID_SOCKET: '/a/s.sock',
          AID_CONFIG: '/a/c.json',
          AID_DATA_DIR: '/a/d',
          AID_STATE_DIR: '/a/st',
        },
        '/home/u',
        7,
      );
      assert.deepEqual(p, {
        socket: '/a/s.sock',
        lockFile: '/a/s.sock.lock',
        configFile: '/a/c.json',
        dataDir: '/a/d',
        stateDir: '/a/st',
        logFile: '/a/st/aid.log',
        registrationFile: '/a/st/aid.json',
      });
    });

    it('makes relative overrides absolute against the working directory', () => {
      const p = resolvePaths({ AID_SOCKET: 'x.sock', AID_DATA_DIR: 'data' }, '/home/u', 7);
      assert.equal(p.socket, path.resolve('x.sock'));
      assert.equal(p.dataDir, path.resolve('data'));
    });
  });

  describe('socketPathFromEnv (shared with the client)', () => {
    it('defaults to /tmp/aid-UID/aid.sock', () => {
      assert.equal(socketPathFromEnv({}, 1000), '/tmp/aid-1000/aid.sock');
      assert.equal(socketPathFromEnv({ XDG_RUNTIME_DIR: '' }, 1000), '/tmp/aid-1000/aid.sock');
    });

    it('uses $XDG_RUNTIME_DIR/aid/aid.sock when XDG_RUNTIME_DIR is absolute', () => {
      assert.equal(socketPathFromEnv({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/aid/aid.sock');
      assert.equal(socketPathFromEnv({ XDG_RUNTIME_DIR: 'run/user/1000' }, 1000), '/tmp/aid-1000/aid.sock');
    });

    it('prefers AID_SOCKET, and keeps the lock beside the socket', () => {
      assert.equal(socketPathFromEnv({ AID_SOCKET: '/x/y.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/x/y.sock');
      assert.equal(lockPathFor('/x/y.sock'), '/x/y.sock.lock');
    });
  });
});

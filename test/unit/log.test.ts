import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileLogger, type FileLoggerOptions } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';

describe('log', () => {
  describe('Redactor', () => {
    it('replaces every occurrence of a registered secret', () => {
      const r = new Redactor();
      r.add('my-custom-secret-value');
      r.add('another-one-42');
      assert.equal(r.redact('key=my-custom-secret-value! and again my-custom-secret-value'), 'key=[REDACTED]! and again [REDACTED]');
      assert.equal(r.redact('x another-one-42 y'), 'x [REDACTED] y');
    });

    it('ignores secrets too short to be told from ordinary text', () => {
      const r = new Redactor();
      r.add('abc');
      r.add('');
      r.add(undefined);
      assert.equal(r.redact('abc stays, so does abcdef'), 'abc stays, so does abcdef');
    });

    it('catches token shapes it was never told about', () => {
      const r = new Redactor();
      assert.equal(r.redact('sk-ant-api03-abcdefghijklmnopqrstuvwxyz'), '[REDACTED]');
      assert.equal(r.redact('token sk-proj-ABCDEFGHIJKLMNOPQRST1234 end'), 'token [REDACTED] end');
      assert.equal(r.redact('openrouter sk-or-v1-0123456789abcdef0123'), 'openrouter [REDACTED]');
      assert.equal(r.redact('legacy sk-0123456789abcdefABCDEF'), 'legacy [REDACTED]');
      assert.equal(r.redact('GEMINI AIzaSyA-1234567890abcdefghijklmnopqrstu'), 'GEMINI [REDACTED]');
    });

    it('keeps the Bearer word and hides the token, in any case', () => {
      const r = new Redactor();
      assert.equal(r.redact('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload'), 'Authorization: Bearer [REDACTED]');
      assert.equal(r.redact('authorization=bearer abcdefgh12345678'), 'authorization=bearer [REDACTED]');
    });

    it('hides the values of api_key= and similar fields, keeping the key', () => {
      const r = new Redactor();
      // Everything up to a quote, space, comma or brace goes: better too much than a leak.
      assert.equal(r.redact('GET /v1?api_key=zzzzzzzzzz&x=1 HTTP/1.1'), 'GET /v1?api_key=[REDACTED] HTTP/1.1');
      assert.equal(r.redact('{"api_key":"zzzzzzzzzz"}'), '{"api_key":"[REDACTED]"}');
      assert.equal(r.redact('x-api-key: abcdef123456'), 'x-api-key: [REDACTED]');
      assert.equal(r.redact('{"refresh_token": "rt-0123456789"}'), '{"refresh_token": "[REDACTED]"}');
    });

    it('leaves ordinary text alone', () => {
      const r = new Redactor();
      for (const text of [
        'model llama3.2:latest answered 200 in 35 ms from http://127.0.0.1:11434 (task-skills)',
        'host went down host=ollama error="Ollama is not running at http://127.0.0.1:11434 (ECONNREFUSED) — start it with `ollama serve`"',
        'routing openrouter/meta-llama/llama-3.3-70b-instruct session=0f8fad5b-d9cb-469f-a165-70867728950e',
        'set ANTHROPIC_API_KEY or GEMINI_API_KEY, then run `aic hosts`',
        'the api_key is missing; use a Bearer token',
        'desk-organizer-project-number-one and risk-assessment-framework-2026',
        'wrote /home/u/.local/state/aid/aid.log (4096 bytes)',
      ]) {
        assert.equal(r.redact(text), text);
      }
    });
  });

  describe('FileLogger', () => {
    let dir: string;
    const loggers: FileLogger[] = [];
    const make = (options: Partial<FileLoggerOptions> & { file: string }): FileLogger => {
      const logger = new FileLogger({ level: 'info', redactor: new Redactor(), stderr: false, ...options });
      loggers.push(logger);
      return logger;
    };
    const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-log-'))));
    afterEach(() => {
      for (const logger of loggers.splice(0)) logger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writes "TIMESTAMP LEVEL message key=value" lines, file 0600 in a 0700 directory', () => {
      const file = path.join(dir, 'state', 'aid.log');
      const logger = make({ file, now: () => new Date('2026-01-02T03:04:05.678Z') });
      logger.info('hello', { host: 'ollama', note: 'two words', n: 3, skipped: undefined, error: new Error('boom now'), obj: { a: 1 } });
      logger.warn('careful');
      logger.error('bad');
      logger.close();
      assert.deepEqual(lines(file), [
        '2026-01-02T03:04:05.678Z INFO  hello host=ollama note="two words" n=3 error="boom now" obj={"a":1}',
        '2026-01-02T03:04:05.678Z WARN  careful',
        '2026-01-02T03:04:05.678Z ERROR bad',
      ]);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    });

    it('drops lines below the level, and follows setLevel', () => {
      const file = path.join(dir, 'aid.log');
      const logger = make({ file, level: 'warn' });
      logger.debug('d1');
      logger.info('i1');
      logger.warn('w1');
      logger.error('e1');
      logger.setLevel('debug');
      logger.debug('d2');
      logger.setLevel('error');
      logger.warn('w2');
      logger.error('e2');
      logger.close();
      assert.deepEqual(
        lines(file).map((l) => l.split(' ').slice(1).filter(Boolean).join(' ')),
        ['WARN w1', 'ERROR e1', 'DEBUG d2', 'ERROR e2'],
      );
    });

    it('redacts secrets in the message and in field values', () => {
      const file = path.join(dir, 'aid.log');
      const redactor = new Redactor();
      redactor.add('super-secret-key-1');
      const logger = make({ file, redactor });
      logger.error('failed with super-secret-key-1', { header: 'Bearer abcdefghijkl', body: { api_key: 'sk-ant-api03-0123456789abcdefghij' } });
      logger.close();
      const text = fs.readFileSync(file, 'utf8');
      for (const secret of ['super-secret-key-1', 'abcdefghijkl', 'sk-ant-api03-0123456789abcdefghij'])
        assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
      assert.match(text, /failed with \[REDACTED\] header="Bearer \[REDACTED\]"/);
    });

    it('rotates at maxBytes, keeps `keep` old files, newest first, nothing lost in between', () => {
      const file = path.join(dir, 'aid.log');
      const logger = make({ file, maxBytes: 200, keep: 3 });
      for (let i = 0; i < 60; i++) logger.info(`line ${i} ${'x'.repeat(30)}`);
      logger.close();
      const files = [`${file}.3`, `${file}.2`, `${file}.1`, file];
      for (const f of files) {
        assert.ok(fs.statSync(f).size <= 200, `${f} is ${fs.statSync(f).size} bytes`);
        assert.equal(fs.statSync(f).mode & 0o777, 0o600);
      }
      assert.ok(!fs.existsSync(`${file}.4`));
      // Oldest to newest, the kept files hold consecutive lines ending with the last one written.
      const numbers = files.flatMap(lines).map((l) => Number(/ line (\d+) /.exec(l)?.[1]));
      assert.equal(numbers.at(-1), 59);
      numbers.forEach((n, i) => assert.equal(n, numbers[0] + i));
    });

    it('counts an existing file towards the limit when it reopens it', () => {
      const file = path.join(dir, 'aid.log');
      fs.writeFileSync(file, 'o'.repeat(180) + '\n', { mode: 0o600 });
      const logger = make({ file, maxBytes: 200, keep: 1 });
      logger.info('a line that does not fit after the old content');
      logger.close();
      assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'o'.repeat(180) + '\n');
      assert.match(fs.readFileSync(file, 'utf8'), /^\S+ INFO {2}a line that does not fit/);
    });

    it('measures the limit in bytes, not characters', () => {
      const file = path.join(dir, 'aid.log');
      const logger = make({ file, maxBytes: 300, keep: 2 });
      // 40 characters, 120 bytes of UTF-8 each.
      for (let i = 0; i < 20; i++) logger.info('€'.repeat(40));
      logger.close();
      for (const f of [file, `${file}.1`, `${file}.2`]) assert.ok(fs.statSync(f).size <= 300, `${f} is ${fs.statSync(f).size} bytes`);
    });
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';

describe('log', () => {
  describe('Redactor', () => {
    it('replaces registered secrets and common token shapes', () => {
      const r = new Redactor();
      r.add('my-custom-secret-value');
      r.add('abc');
      assert.equal(r.redact('key=my-custom-secret-value!'), 'key=[REDACTED]!');
      assert.equal(r.redact('abc stays'), 'abc stays');
      assert.equal(r.redact('sk-ant-api03-abcdefghijklmnopqrstuvwxyz'), '[REDACTED]');
      assert.equal(r.redact('token sk-proj-ABCDEFGHIJKLMNOPQRST1234 end'), 'token [REDACTED] end');
      assert.equal(r.redact('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload'), 'Authorization: Bearer [REDACTED]');
      assert.equal(r.redact('{"api_key":"zzzzzzzzzz"}'), '{"api_key":"[REDACTED]"}');
      assert.equal(r.redact('GEMINI AIzaSyA-1234567890abcdefghijklmnopqrstu'), 'GEMINI [REDACTED]');
    });

    it('leaves ordinary text alone', () => {
      const text = 'model llama3.2:latest answered 200 in 35 ms from http://127.0.0.1:11434 (task-skills)';
      assert.equal(new Redactor().redact(text), text);
    });
  });

  describe('FileLogger', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-log-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('writes timestamped, levelled lines with fields, filtered by level, mode 0600', () => {
      const file = path.join(dir, 'state', 'aid.log');
      const logger = new FileLogger({ file, level: 'info', redactor: new Redactor(), stderr: false, now: () => new Date('2026-01-02T03:04:05.678Z') });
      logger.debug('hidden');
      logger.info('hello', { host: 'ollama', note: 'two words', n: 3 });
      logger.setLevel('debug');
      logger.debug('shown');
      logger.close();
      assert.equal(
        fs.readFileSync(file, 'utf8'),
        '2026-01-02T03:04:05.678Z INFO  hello host=ollama note="two words" n=3\n2026-01-02T03:04:05.678Z DEBUG shown\n',
      );
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    it('redacts secrets in messages and fields', () => {
      const file = path.join(dir, 'aid.log');
      const redactor = new Redactor();
      redactor.add('super-secret-key-1');
      const logger = new FileLogger({ file, level: 'info', redactor, stderr: false });
      logger.error('failed with super-secret-key-1', { header: 'Bearer abcdefghijkl' });
      logger.close();
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(!text.includes('super-secret-key-1'));
      assert.ok(!text.includes('abcdefghijkl'));
    });

    it('rotates at the size limit and keeps the configured number of files', () => {
      const file = path.join(dir, 'aid.log');
      const logger = new FileLogger({ file, level: 'info', redactor: new Redactor(), stderr: false, maxBytes: 200, keep: 2 });
      for (let i = 0; i < 40; i++) logger.info(`line ${i} ${'x'.repeat(30)}`);
      logger.close();
      assert.ok(fs.existsSync(`${file}.1`));
      assert.ok(fs.existsSync(`${file}.2`));
      assert.ok(!fs.existsSync(`${file}.3`));
      for (const f of [file, `${file}.1`, `${file}.2`]) assert.ok(fs.statSync(f).size <= 200);
      assert.match(fs.readFileSync(file, 'utf8'), /line 39/);
    });
  });
});

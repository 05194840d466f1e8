import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { FrameError, FrameGuard } from '../../daemon/server/frame-guard';
import { HandlerRegistry, defineHandler } from '../../daemon/server/handlers';
import { readRegistration, removeRegistration, writeRegistration } from '../../daemon/server/registration';
import { Shutdown } from '../../daemon/server/shutdown';
import { checkSocketPathLength, prepareSocketDir, systemdListenFd } from '../../daemon/server/socket';
import { z } from 'zod';

function frame(body: string): Buffer {
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** Feeds chunks through a guard; resolves with what passed, or the error. */
function guard(chunks: Buffer[], max = 1024): Promise<{ out: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    const g = new FrameGuard(max);
    const parts: Buffer[] = [];
    g.on('data', (d: Buffer) => parts.push(d));
    g.on('error', (error) => resolve({ out: Buffer.concat(parts), error }));
    g.on('end', () => resolve({ out: Buffer.concat(parts) }));
    for (const c of chunks) g.write(c);
    g.end();
  });
}

describe('server room', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-srv-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('FrameGuard', () => {
    const input = Buffer.concat([
      frame('{"a":1}'),
      // A body that looks like headers must be passed as body, not parsed.
      frame('{"text":"Content-Length: 99999999\r\n\r\nx"}'),
      frame('{"b":"é€"}'),
      Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}'),
      Buffer.from('Content-Length: 0\r\n\r\n'),
    ]);

    it('passes valid frames unchanged, split in two at every byte boundary', async () => {
      for (let cut = 0; cut <= input.length; cut++) {
        const { out, error } = await guard([input.subarray(0, cut), input.subarray(cut)]);
        assert.equal(error, undefined, `cut at ${cut}`);
        assert.deepEqual(out, input, `cut at ${cut}`);
      }
    });

    it('passes valid frames unchanged, one byte per chunk', async () => {
      const { out, error } = await guard([...input].map((b) => Buffer.from([b])));
      assert.equal(error, undefined);
      assert.deepEqual(out, input);
    });

    it('accepts a body of exactly the limit, refuses one byte more', async () => {
      const body = `"${'x'.repeat(1022)}"`;
      assert.equal(Buffer.byteLength(body), 1024);
      assert.equal((await guard([frame(body)])).error, undefined);
      const over = await guard([frame(`"${'x'.repeat(1023)}"`)]);
      assert.ok(over.error instanceof FrameError);
      assert.equal(over.error.message, 'message of 1025 bytes exceeds the 1024-byte limit');
    });

    it('fails on oversized, missing or non-numeric lengths and on endless headers', async () => {
      const cases: [string | Buffer, RegExp][] = [
        ['Content-Length: 2048\r\n\r\n', /exceeds the 1024-byte limit/],
        ['Content-Length: 104857600\r\n\r\n', /message of 104857600 bytes exceeds/],
        ['X-Other: 1\r\n\r\n{}', /header without Content-Length/],
        ['Content-Length: 1e3\r\n\r\n', /Content-Length is not a number: "1e3"/],
        ['Content-Length: -5\r\n\r\n', /not a number/],
        ['Content-Length: \r\n\r\n', /not a number/],
        ['garbage without colon\r\n\r\n', /malformed header/],
        [Buffer.alloc(9000, 0x41), /header longer than 8192 bytes/],
      ];
      for (const [bytes, expected] of cases) {
        const { out, error } = await guard([Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)]);
        assert.ok(error instanceof FrameError, `${String(bytes).slice(0, 40)}: ${String(error)}`);
        assert.match(error.message, expected);
        assert.equal(out.length, 0, 'nothing of a bad frame reaches the reader');
      }
    });

    it('notices an endless header even when it trickles in', async () => {
      const chunks = Array.from({ length: 100 }, () => Buffer.alloc(100, 0x41));
      assert.match((await guard(chunks)).error?.message ?? '', /header longer than/);
    });

    it('lets earlier good frames through before failing on a bad one', async () => {
      const good = frame('{"ok":true}');
      const { out, error } = await guard([good, Buffer.from('Content-Length: 5000\r\n\r\n')]);
      assert.deepEqual(out, good);
      assert.match(error?.message ?? '', /exceeds/);
    });
  });

  it('HandlerRegistry refuses two handlers for one method', () => {
    const h = defineHandler({ method: 'x/y' }, z.object({}), () => 1);
    const registry = new HandlerRegistry().add(h);
    assert.equal(registry.get('x/y'), h);
    assert.deepEqual(registry.methods(), ['x/y']);
    assert.throws(() => registry.add(h), /duplicate handler for x\/y/);
  });

  describe('Shutdown', () => {
    it('runs steps in order, once, past a failing step', async () => {
      const logFile = path.join(dir, 'log');
      const logger = new FileLogger({ file: logFile, level: 'debug', redactor: new Redactor(), stderr: false });
      const shutdown = new Shutdown(logger);
      const ran: string[] = [];
      shutdown.add('a', () => void ran.push('a'));
      shutdown.add('b', () => {
        ran.push('b');
        throw new Error('boom');
      });
      shutdown.add('c', async () => {
        await new Promise((r) => setTimeout(r, 5));
        ran.push('c');
      });
      assert.equal(shutdown.started, false);
      const one = shutdown.run('first');
      assert.equal(shutdown.started, true);
      const two = shutdown.run('second');
      assert.equal(one, two);
      await one;
      await shutdown.finished;
      assert.deepEqual(ran, ['a', 'b', 'c']);
      logger.close();
      const log = fs.readFileSync(logFile, 'utf8');
      assert.match(log, /shutdown step failed step=b error=boom/);
      assert.equal(log.match(/shutting down/g)?.length, 1);
    });
  });

  describe('socket checks', () => {
    it('rejects a socket path longer than sun_path allows', () => {
      assert.doesNotThrow(() => checkSocketPathLength(`/${'a'.repeat(106)}`));
      assert.throws(() => checkSocketPathLength(`/${'a'.repeat(107)}`), /108 bytes, more than the 107.*AID_SOCKET/s);
    });

    it('creates a private directory, and refuses foreign or open ones', () => {
      const uid = process.getuid?.() ?? 0;
      const fresh = path.join(dir, 'new', 'aid');
      prepareSocketDir(fresh, uid);
      assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
      assert.throws(() => prepareSocketDir(fresh, uid + 1), new RegExp(`belongs to uid ${uid}`));
      fs.chmodSync(fresh, 0o750);
      assert.throws(() => prepareSocketDir(fresh, uid), /mode 750 .*chmod 700/);
      const file = path.join(dir, 'file');
      fs.writeFileSync(file, '');
      assert.throws(() => prepareSocketDir(file, uid), /cannot create|not a directory/);
    });

    it('accepts its own private directory again, refuses a symlink in its place', () => {
      const uid = process.getuid?.() ?? 0;
      const real = path.join(dir, 'real');
      prepareSocketDir(real, uid);
      assert.doesNotThrow(() => prepareSocketDir(real, uid));
      const link = path.join(dir, 'link');
      fs.symlinkSync(real, link);
      assert.throws(() => prepareSocketDir(link, uid), /is not a directory/);
    });

    it('reads LISTEN_FDS only when LISTEN_PID is ours', () => {
      assert.equal(systemdListenFd({}, 10), undefined);
      assert.equal(systemdListenFd({ LISTEN_FDS: '1', LISTEN_PID: '10' }, 10), 3);
      assert.equal(systemdListenFd({ LISTEN_FDS: '1', LISTEN_PID: '11' }, 10), undefined);
      assert.equal(systemdListenFd({ LISTEN_FDS: '0' }, 10), undefined);
    });
  });

  it('registration is written atomically, 0600, and removed only by its owner', () => {
    const file = path.join(dir, 'state', 'aid.json');
    writeRegistration(file, { pid: 42, socket: '/s', version: '1.0.0', startedAt: 'now' });
    assert.deepEqual(readRegistration(file), { pid: 42, socket: '/s', version: '1.0.0', startedAt: 'now' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['aid.json']);
    removeRegistration(file, 43);
    assert.ok(fs.existsSync(file));
    removeRegistration(file, 42);
    assert.ok(!fs.existsSync(file));
    assert.equal(readRegistration(file), undefined);
  });
});

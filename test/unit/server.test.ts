import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { FileLogger } from '../../daemon/log/logger';
import { Redactor } from '../../daemon/log/redact';
import { HandlerRegistry, defineHandler, noParams } from '../../daemon/server/handlers';
import { readRegistration, removeRegistration, writeRegistration } from '../../daemon/server/registration';
import { DaemonServer } from '../../daemon/server/server';
import { Shutdown } from '../../daemon/server/shutdown';
import { checkSocketPathLength, prepareSocketDir, systemdListenFd } from '../../daemon/server/socket';
import { RequestType0 } from 'vscode-jsonrpc';

describe('server room', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-srv-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('DaemonServer counts 30 clients that each leave part of a 16,000,000-byte frame, and none once they are gone', async () => {
    const logger = new FileLogger({ file: path.join(dir, 'log'), level: 'debug', redactor: new Redactor(), stderr: false });
    const server = new DaemonServer({ registry: new HandlerRegistry(), logger, handshakeTimeoutMs: () => 600000, maxMessageBytes: 16 * 1024 * 1024 });
    const socketPath = path.join(dir, 's');
    await server.listenOnPath(socketPath);
    const until = async (check: () => boolean, what: string): Promise<void> => {
      for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(check(), what);
    };
    try {
      const clients = await Promise.all(
        Array.from(
          { length: 30 },
          () =>
            new Promise<net.Socket>((resolve) => {
              const socket = net.connect(socketPath, () => resolve(socket));
            }),
        ),
      );
      for (const client of clients) client.write(Buffer.concat([Buffer.from('Content-Length: 16000000\r\n\r\n'), Buffer.alloc(64 * 1024, 0x20)]));
      await until(() => server.connectionCount === 30, `30 connections, not ${server.connectionCount}`);
      for (const client of clients) client.destroy();
      await until(() => server.connectionCount === 0, `no connection left, not ${server.connectionCount}`);
    } finally {
      server.stopAccepting();
      server.closeConnections();
      logger.close();
    }
  });

  it('HandlerRegistry refuses two handlers for one method', () => {
    const h = defineHandler(new RequestType0<number, void>('x/y'), noParams, () => 1);
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

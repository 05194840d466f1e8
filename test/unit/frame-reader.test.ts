import { strict as assert } from 'node:assert';
import { Duplex, PassThrough } from 'node:stream';
import type { Message } from 'vscode-jsonrpc/node';
import { FrameError, frameLength } from '../../daemon/server/frame-header';
import { FrameReader, type Refusal } from '../../daemon/server/frame-reader';
import { classifyMessage } from '../../daemon/server/incoming-message';
import { JsonRpcCodes } from '../../protocol/errors';

function frame(body: string): Buffer {
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

interface Read {
  messages: Message[];
  refusals: Refusal[];
  error?: Error;
  reader: FrameReader;
  socket: PassThrough;
}

/** A reader on an in-memory socket, fed `chunks` one write each. */
async function read(chunks: Buffer[], limits = { maxBodyBytes: 1024, maxHeaderBytes: 1024, maxUnsentBytes: 1024 * 1024 }): Promise<Read> {
  const socket = new PassThrough();
  const reader = new FrameReader(socket, limits);
  const result: Read = { messages: [], refusals: [], reader, socket };
  reader.onError((error) => (result.error = error));
  reader.onRefused((refusal) => result.refusals.push(refusal));
  reader.listen((message) => result.messages.push(message));
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((r) => setImmediate(r));
  }
  return result;
}

describe('FrameReader: the socket read once, strictly', () => {
  const bodies = [
    { jsonrpc: '2.0', id: 1, method: 'a/b', params: {} },
    // A body that looks like headers is a body, not headers.
    { jsonrpc: '2.0', method: 'n/x', params: { text: 'Content-Length: 99999999\r\n\r\nx' } },
    { jsonrpc: '2.0', id: 'é€', method: 'c/d', params: [] },
  ];
  const input = Buffer.concat([
    ...bodies.map((b) => frame(JSON.stringify(b))),
    Buffer.from(
      `Content-Type: application/vscode-jsonrpc; ` +
        `charset=utf-8\r\ncontent-length: ${'{"jsonrpc":"2.0","id":7,"method":"e/f"}'.length}\r\n\r\n{"jsonrpc":"2.0","id":7,"method":"e/f"}`,
    ),
  ]);
  const expected = [...bodies, { jsonrpc: '2.0', id: 7, method: 'e/f' }];

  it('reads valid frames split in two at every byte boundary', async () => {
    for (let cut = 0; cut <= input.length; cut++) {
      const { messages, error, refusals } = await read([input.subarray(0, cut), input.subarray(cut)]);
      assert.equal(error, undefined, `cut at ${cut}`);
      assert.deepEqual(refusals, [], `cut at ${cut}`);
      assert.deepEqual(messages, expected, `cut at ${cut}`);
    }
  });

  it('reads valid frames one byte per chunk', async () => {
    const { messages, error } = await read([...input].map((b) => Buffer.from([b])));
    assert.equal(error, undefined);
    assert.deepEqual(messages, expected);
  });

  it('accepts a body of exactly the limit, and fails on one byte more', async () => {
    const body = (n: number): string => JSON.stringify({ jsonrpc: '2.0', method: 'n/x', params: { pad: 'x'.repeat(n) } });
    const exact = body(1024 - body(0).length);
    assert.equal(Buffer.byteLength(exact), 1024);
    const ok = await read([frame(exact)]);
    assert.equal(ok.error, undefined);
    assert.equal(ok.messages.length, 1);
    const over = await read([frame(body(1025 - body(0).length))]);
    assert.ok(over.error instanceof FrameError);
    assert.equal(over.error.message, 'message of 1025 bytes exceeds the 1024-byte limit');
    assert.equal(over.messages.length, 0);
  });

  it('fails at once, reading nothing further, on a duplicate or disguised Content-Length (issue 11.4)', async () => {
    const { error, messages, reader, socket } = await read([Buffer.from('Content-Length: 999999999999\r\nContent-Length : 16\r\n\r\n')], {
      maxBodyBytes: 16 * 1024 * 1024,
      maxHeaderBytes: 1024,
      maxUnsentBytes: 1024 * 1024,
    });
    assert.ok(error instanceof FrameError);
    assert.match(error.message, /exceeds the 16777216-byte limit/);
    socket.write(frame('{"jsonrpc":"2.0","id":1,"method":"a/b"}'));
    await new Promise((r) => setImmediate(r));
    assert.equal(messages.length, 0, 'nothing after a bad header is read');
    assert.equal(reader.bufferedBytes, 0);
    assert.equal(socket.listenerCount('data'), 0);
  });

  it('fails on a bare \\n line end instead of waiting for \\r\\n\\r\\n', async () => {
    for (const bytes of ['Content-Length: 2\n\n{}', 'Content-Length: 2\r\n\n{}', '\n']) {
      const { error } = await read([Buffer.from(bytes)]);
      assert.ok(error instanceof FrameError, JSON.stringify(bytes));
      assert.match(error.message, /must end with \\r\\n, not a bare \\n/);
    }
  });

  it('notices an endless header even when it trickles in', async () => {
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(100, 0x41));
    assert.match((await read(chunks)).error?.message ?? '', /header longer than 1024 bytes/);
  });

  it('holds only the bytes that arrived of a large announced body, and nothing once the socket closes', async () => {
    const limits = { maxBodyBytes: 16 * 1024 * 1024, maxHeaderBytes: 1024, maxUnsentBytes: 1024 * 1024 };
    const { reader, socket, error } = await read([Buffer.from('Content-Length: 16000000\r\n\r\n'), Buffer.alloc(100, 0x20)], limits);
    assert.equal(error, undefined);
    assert.ok(reader.bufferedBytes > 0 && reader.bufferedBytes <= 64 * 1024 + 1024, `holds ${reader.bufferedBytes} bytes for 100 received`);
    socket.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(reader.bufferedBytes, 0);
    assert.equal(socket.listenerCount('data'), 0);
    assert.equal(socket.listenerCount('close'), 0);
  });

  it('leaves the input of a peer that does not read its answers unread until they drain', async () => {
    const pending: (() => void)[] = [];
    // A peer that takes nothing: every write waits.
    const socket = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done: () => void) => void pending.push(done) });
    const reader = new FrameReader(socket, { maxBodyBytes: 1024, maxHeaderBytes: 1024, maxUnsentBytes: 64 * 1024 });
    const messages: Message[] = [];
    reader.listen((message) => messages.push(message));
    const request = frame('{"jsonrpc":"2.0","id":1,"method":"a/b"}');
    socket.push(request);
    await new Promise((r) => setImmediate(r));
    assert.equal(socket.isPaused(), false, 'a peer with nothing unsent is read');
    for (let i = 0; i < 80; i++) socket.write(Buffer.alloc(1024));
    socket.push(request);
    await new Promise((r) => setImmediate(r));
    assert.equal(messages.length, 2, 'the chunk in hand is read to its end');
    assert.equal(socket.isPaused(), true, 'then reading stops while 80 KiB wait to be sent');
    while (pending.length) pending.shift()?.();
    await new Promise((r) => setImmediate(r));
    assert.equal(socket.isPaused(), false, 'and resumes once they drained');
    reader.dispose();
    assert.equal(socket.listenerCount('drain'), 0);
  });

  it('answers a body that is not JSON (-32700) or not a request (-32600), and reads on', async () => {
    const { messages, refusals, error } = await read([
      frame('{not json!!}'),
      Buffer.from('Content-Length: 2\r\n\r\n\xff\xfe', 'latin1'),
      frame('42'),
      frame('[{"jsonrpc":"2.0","id":1,"method":"a/b"}]'),
      frame('{"jsonrpc":"2.0","id":2,"method":"a/b"}'),
    ]);
    assert.equal(error, undefined);
    assert.deepEqual(
      refusals.map((r) => [r.answer?.code, r.answer?.id]),
      [
        [JsonRpcCodes.ParseError, null],
        [JsonRpcCodes.ParseError, null],
        [JsonRpcCodes.InvalidRequest, null],
        [JsonRpcCodes.InvalidRequest, null],
      ],
    );
    assert.match(refusals[3]?.answer?.message ?? '', /batches .* are not supported/);
    assert.deepEqual(messages, [{ jsonrpc: '2.0', id: 2, method: 'a/b' }]);
  });
});

describe('frameLength: one reading of a header', () => {
  const max = 1024;
  it('takes LSP headers as editors write them', () => {
    assert.equal(frameLength('Content-Length: 12', max), 12);
    assert.equal(frameLength('content-length:12', max), 12);
    assert.equal(frameLength('CONTENT-LENGTH: \t12 ', max), 12);
    assert.equal(frameLength('Content-Length: 0', max), 0);
    assert.equal(frameLength('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 5', max), 5);
    assert.equal(frameLength('Content-Length: 5\r\nContent-Type: application/json; charset="UTF8"', max), 5);
    assert.equal(frameLength('Content-Length: 5\r\nContent-Type: application/json', max), 5);
    assert.equal(frameLength('X-Other: anything at all\r\nContent-Length: 5', max), 5);
  });

  it('refuses every other reading', () => {
    const cases: [string, RegExp][] = [
      ['Content-Length: 999999999999\r\nContent-Length : 16', /exceeds the 1024-byte limit/],
      ['Content-Length: 16\r\nContent-Length : 16', /malformed header line "Content-Length : 16"/],
      ['Content-Length: 5\r\ncontent-length: 5', /more than one Content-Length/],
      ['Content-Length : 5', /malformed header line/],
      [' Content-Length: 5', /malformed header line/],
      ['Content-Length: 2048', /message of 2048 bytes exceeds the 1024-byte limit/],
      ['Content-Length: 99999999999999999999999', /message of 99999999999999999999… bytes exceeds/],
      ['Content-Length: 1e3', /not a number of bytes: "1e3"/],
      ['Content-Length: -5', /not a number/],
      ['Content-Length: +5', /not a number/],
      ['Content-Length: 5 5', /not a number/],
      ['Content-Length: 0x10', /not a number/],
      ['Content-Length: ', /not a number/],
      ['Content-Length: 5\r', /malformed header line/],
      ['X-Other: 1', /header without Content-Length/],
      ['', /empty header/],
      ['garbage without colon', /malformed header line/],
      ['Content-Length: 5\r\nContent-Type: application/json; charset=latin1', /unsupported charset "latin1"/],
      ['Content-Length: 5\r\nContent-Type: a/b\r\nContent-Type: a/b', /more than one Content-Type/],
    ];
    for (const [header, expected] of cases)
      assert.throws(
        () => frameLength(header, max),
        (error: unknown) => error instanceof FrameError && expected.test(error.message),
        JSON.stringify(header),
      );
  });
});

describe('classifyMessage: JSON-RPC 2.0 before dispatch', () => {
  it('passes requests and notifications', () => {
    for (const m of [
      { jsonrpc: '2.0', id: 1, method: 'a' },
      { jsonrpc: '2.0', id: 'x', method: 'a', params: {} },
      { jsonrpc: '2.0', id: 1.5, method: 'a', params: [] },
      { jsonrpc: '2.0', method: 'n' },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 3 } },
    ]) {
      assert.deepEqual(classifyMessage(m), { kind: 'dispatch', message: m });
    }
  });

  it('answers invalid requests with their id when it is usable, else null', () => {
    const cases: [unknown, string | number | null, RegExp][] = [
      [42, null, /not a number/],
      ['text', null, /not a string/],
      [null, null, /not null/],
      [[], null, /empty array/],
      [[{ jsonrpc: '2.0', id: 1, method: 'aid/handshake' }], null, /batches/],
      [{ id: 5 }, 5, /no "method"/],
      [{ jsonrpc: '2.0', id: 1, method: 5 }, 1, /"method" must be a string/],
      [{ jsonrpc: '2.0', id: null, method: 'aid/status' }, null, /"id" must be a string or a number/],
      [{ jsonrpc: '2.0', id: { a: 1 }, method: 'aid/status' }, null, /"id" must be/],
      [{ jsonrpc: '2.0', id: true, method: 'aid/status' }, null, /"id" must be/],
      [{ id: 3, method: 'aid/status' }, 3, /"jsonrpc" must be "2.0"/],
      [{ jsonrpc: '1.0', id: 'a', method: 'aid/status' }, 'a', /"jsonrpc" must be "2.0"/],
      [{ jsonrpc: '2.0', id: 4, method: 'aid/status', params: 'x' }, 4, /"params" must be an object/],
      [{ jsonrpc: '2.0', id: 4, method: 'aid/status', params: null }, 4, /"params" must be an object/],
    ];
    for (const [value, id, reason] of cases) {
      const checked = classifyMessage(value);
      assert.equal(checked.kind, 'invalid', JSON.stringify(value));
      assert.ok(checked.kind === 'invalid');
      assert.equal(checked.id, id, JSON.stringify(value));
      assert.match(checked.reason, reason);
    }
  });

  it('never answers responses, nor a $/cancelRequest it cannot use', () => {
    for (const value of [
      { jsonrpc: '2.0', id: 1, result: 1 },
      { jsonrpc: '2.0', id: null, error: { code: 1, message: 'x' } },
      { jsonrpc: '2.0', method: '$/cancelRequest' },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: {} },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: [5] },
    ]) {
      assert.equal(classifyMessage(value).kind, 'ignored', JSON.stringify(value));
    }
  });
});

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { AID_BIN, connect, makeSandbox, socketAnswers, teardown, waitFor } from '../test/helpers/daemon';
import { RawClient } from '../test/helpers/raw-rpc';
import { StatusRequest } from '../protocol/daemon';

/**
 * `npm run build && node dist/bench/fuzz-frames.js`: throws FRAMES malformed and hostile frames at
 * a real daemon over raw sockets (BENCH_FRAMES, default 18,000; a fresh connection every 20
 * frames, half of them handshaken first) and checks after every connection that the daemon still
 * answers aid/status. Each frame is a mutation of a valid request: corrupt or repeated headers,
 * lying lengths, bare LF framing, random bytes, truncated or non-JSON bodies, invalid JSON-RPC
 * shapes (numbers, arrays, null ids, wrong types), unknown methods, bad params, cancels of nothing.
 * A seeded generator makes runs repeatable. Prints markdown; asserts nothing.
 */

const FRAMES = Number(process.env.BENCH_FRAMES ?? 18000);
const PER_CONNECTION = 20;

/** xorshift32: repeatable runs. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const rand = random(0xa1d);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

const BODIES: (() => string)[] = [
  () => JSON.stringify({ jsonrpc: '2.0', id: Math.floor(rand() * 1000), method: 'aid/status' }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aid/ask', params: { prompt: 'x', streamToken: 't', model: 'nope/nope' } }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'aid/ask', params: { prompt: 42 } }),
  () => JSON.stringify({ jsonrpc: '2.0', id: null, method: 'aid/status' }),
  () => JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: Math.floor(rand() * 10) } }),
  () => JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest' }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 3, method: 5 }),
  () => JSON.stringify({ id: 4 }),
  () => JSON.stringify([{ jsonrpc: '2.0', id: 5, method: 'aid/status' }]),
  () => '[]',
  () => '42',
  () => 'null',
  () => '{"jsonrpc":"2.0","id":6,"method":"aid/models","params":',
  () => JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'aid/unknown', params: {} }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'aid/sessions/show', params: { id: '../../etc/passwd' } }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'aid/budget/set', params: { name: 'x'.repeat(500), limitUsd: -1 } }),
  () => JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'aid/context', params: { query: 'q', project: '/nonexistent' } }),
  () => bytes(32).toString('latin1'),
  () => '\u0000'.repeat(16),
];

/** One hostile frame: a valid body in a broken frame, or a broken body in a valid one. */
function frame(): Buffer {
  const body = Buffer.from(pick(BODIES)());
  const length = body.length;
  switch (Math.floor(rand() * 10)) {
    case 0:
      return Buffer.concat([Buffer.from(`Content-Length: ${length + Math.floor(rand() * 50) - 25}\r\n\r\n`), body]);
    case 1:
      return Buffer.concat([Buffer.from(`Content-Length: 999999999999\r\nContent-Length : ${length}\r\n\r\n`), body]);
    case 2:
      return Buffer.concat([Buffer.from(`Content-Length: ${length}\n\n`), body]);
    case 3:
      return Buffer.concat([Buffer.from(`Content-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n`), body]);
    case 4:
      return bytes(1 + Math.floor(rand() * 200));
    case 5:
      return Buffer.concat([Buffer.from(`content-length:${length}\r\nX-Junk: ${'y'.repeat(Math.floor(rand() * 3000))}\r\n\r\n`), body]);
    default:
      return Buffer.concat([Buffer.from(`Content-Length: ${length}\r\n\r\n`), body]);
  }
}

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function main(): Promise<void> {
  const s = makeSandbox();
  const daemon = spawn(process.execPath, [AID_BIN, 'start', '--foreground'], { env: s.env, stdio: 'ignore' });
  let exited = false;
  daemon.once('exit', () => (exited = true));
  const started = Date.now();
  try {
    await waitFor(
      () => socketAnswers(s.socket),
      20000,
      () => 'the daemon',
    );
    const pid = daemon.pid as number;
    const rssBefore = rssOf(pid);
    let rssPeak = rssBefore;
    let sent = 0;
    let closedByDaemon = 0;
    let answered = 0;
    let statusFailures = 0;
    while (sent < FRAMES && !exited) {
      const client = await RawClient.connect(s.socket);
      if (rand() < 0.5) client.handshake();
      for (let i = 0; i < PER_CONNECTION && sent < FRAMES && !client.closed; i++, sent++) client.writeRaw(frame());
      await new Promise((r) => setTimeout(r, 5));
      if (client.closed) closedByDaemon++;
      answered += client.received;
      client.socket.destroy();
      rssPeak = Math.max(rssPeak, rssOf(pid));
      // The daemon must still serve a well-behaved client.
      try {
        const session = await connect(s);
        await session.connection.sendRequest(StatusRequest);
        session.close();
      } catch {
        statusFailures++;
      }
    }
    const rssAfter = exited ? 0 : rssOf(pid);
    process.stdout.write(
      `| hostile frames | connections | closed by the daemon | answers sent | daemon crashes | aid/status failures after a connection | RSS before / ` +
        `peak / after |\n|---|---|---|---|---|---|---|\n` +
        `| ${sent} | ${Math.ceil(sent / PER_CONNECTION)} | ` +
        `${closedByDaemon} | ${answered} | ${exited ? 1 : 0} | ` +
        `${statusFailures} | ${Math.round(rssBefore / 2 ** 20)} / ` +
        `${Math.round(rssPeak / 2 ** 20)} / ${Math.round(rssAfter / 2 ** 20)} MB |\n\n(${Math.round((Date.now() - started) / 1000)} s)\n`,
    );
  } finally {
    daemon.kill('SIGTERM');
    await teardown(s);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

import * as inspector from 'node:inspector';

/**
 * Preloaded into a daemon by bench/socket-memory.ts only (`node --expose-gc --require
 * dist/bench/gc-probe.js daemon/bin/aid.js start --foreground`), never part of aid. Installing a
 * signal handler is this file's whole purpose, so unlike the daemon's modules it acts when loaded:
 * on SIGUSR2 it runs a full GC and prints one line on stderr,
 * `bench-gc {"rss","heapUsed","external","arrayBuffers","connections"}`, where `connections` is
 * the number of ClientConnection objects still on the heap (found with the inspector's
 * Runtime.queryObjects, which also collects garbage first).
 */

type Post = (method: string, params?: object) => Promise<Record<string, unknown>>;

function poster(session: inspector.Session): Post {
  return (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as Record<string, unknown>))),
    );
}

/** Live instances of the class the daemon loaded from dist/daemon/server/connection.js. */
async function liveConnections(post: Post): Promise<number | null> {
  const loaded = Object.values(require.cache).find((m) => m?.filename.endsWith('/daemon/server/connection.js'));
  const type = (loaded?.exports as { ClientConnection?: { prototype: object } } | undefined)?.ClientConnection;
  if (!type) return null;
  const holder = globalThis as { __benchConnectionPrototype?: object };
  holder.__benchConnectionPrototype = type.prototype;
  try {
    const proto = (await post('Runtime.evaluate', { expression: 'globalThis.__benchConnectionPrototype' })).result as { objectId: string };
    const found = (await post('Runtime.queryObjects', { prototypeObjectId: proto.objectId })).objects as { objectId: string };
    const counted = (
      await post('Runtime.callFunctionOn', { objectId: found.objectId, functionDeclaration: 'function () { return this.length; }', returnByValue: true })
    ).result as { value: number };
    return counted.value;
  } finally {
    delete holder.__benchConnectionPrototype;
  }
}

async function report(): Promise<void> {
  const session = new inspector.Session();
  session.connect();
  try {
    const connections = await liveConnections(poster(session));
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    process.stderr.write(`bench-gc ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, connections })}\n`);
  } finally {
    session.disconnect();
  }
}

process.on('SIGUSR2', () => {
  report().catch((error: unknown) => process.stderr.write(`bench-gc-failed ${String(error)}\n`));
});

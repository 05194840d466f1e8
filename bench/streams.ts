import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { AskDeltaNotification, AskRequest } from '../protocol/chat';
import { ModelsRequest } from '../protocol/models';
import type { Session } from '../protocol/transport';
import { CloudSimulator } from '../test/fakes/cloud-simulator';
import { aid, connect, makeSandbox, teardown } from '../test/helpers/daemon';

/**
 * Streaming through the daemon against the same simulator called directly with the official SDK,
 * the cached models RPC, and how fast a cancel reaches the provider. Returns markdown lines.
 */

const KEY = 'sk-bench-0000000000000000000000';
const MODEL = 'gpt-4.1-mini';

export interface Summary {
  median: number;
  p90: number;
  p99: number;
}

function startCloudSimulator(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'fakes', 'run-cloud-simulator.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve({ url: d.toString().trim(), child }));
    child.once('exit', (code) => reject(new Error(`cloud simulator exited with ${code}`)));
  });
}

/** The simulator's reply is `tok0 tok1 …`, one word a token. */
const words = (text: string): number => text.match(/\S+/g)?.length ?? 0;

interface StreamSample {
  ttftMs: number;
  tokens: number;
  wallMs: number;
}

async function directStream(client: OpenAI): Promise<StreamSample> {
  const started = performance.now();
  let first = 0;
  let tokens = 0;
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'bench' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) {
      if (!first) first = performance.now();
      tokens += words(text);
    }
  }
  return { ttftMs: first - started, tokens, wallMs: performance.now() - started };
}

async function daemonStream(session: Session, index: number): Promise<StreamSample> {
  const streamToken = `bench-${index}-${Math.random()}`;
  const started = performance.now();
  let first = 0;
  let tokens = 0;
  const listener = session.connection.onNotification(AskDeltaNotification, (delta) => {
    if (delta.streamToken !== streamToken) return;
    if (!first) first = performance.now();
    // The daemon may send several chunks in one notification: count the tokens, not the messages.
    tokens += words(delta.text);
  });
  try {
    await session.connection.sendRequest(AskRequest, { prompt: 'bench', model: `openai/${MODEL}`, streamToken });
  } finally {
    listener.dispose();
  }
  return { ttftMs: first - started, tokens, wallMs: performance.now() - started };
}

/** Tokens per second across all streams of a round: total tokens over the round's wall time. */
function throughput(samples: StreamSample[], wallMs: number): number {
  return samples.reduce((sum, s) => sum + s.tokens, 0) / (wallMs / 1000);
}

export async function benchStreams(summary: (samples: number[]) => Summary, ms: (n: number) => string): Promise<string[]> {
  const delay = Number(process.env.BENCH_TOKEN_DELAY_MS ?? 5);
  const words = Number(process.env.BENCH_REPLY_WORDS ?? 100);
  const sim = await startCloudSimulator(['--kind', 'openai', '--delay', String(delay), '--reply-words', String(words), '--key', KEY]);
  const sandbox = makeSandbox({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: sim.url } });
  const lines: string[] = [];
  try {
    if ((await aid(['start'], sandbox)).code !== 0) throw new Error('could not start aid');
    const client = new OpenAI({ apiKey: KEY, baseURL: sim.url, maxRetries: 0 });
    lines.push(
      `### Streaming through the daemon vs the SDK directly (OpenAI simulator in its own process, ${words} tokens a stream, one every ${delay} ms)`,
      '',
      '| concurrent streams | TTFT p50 direct | TTFT p50 daemon | added p50 | TTFT p90 daemon | tokens/s direct | tokens/s daemon | ratio |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const concurrency of [1, 10, 100]) {
      const sessions = await Promise.all(Array.from({ length: concurrency }, () => connect(sandbox)));
      const rounds = concurrency === 100 ? 3 : concurrency === 10 ? 5 : 20;
      const direct: StreamSample[] = [];
      const viaDaemon: StreamSample[] = [];
      let directWall = 0;
      let daemonWall = 0;
      // Warm both paths (TLS-free, but connection pools and JIT).
      await directStream(client);
      await daemonStream(sessions[0], -1);
      for (let round = 0; round < rounds; round++) {
        let t = performance.now();
        direct.push(...(await Promise.all(Array.from({ length: concurrency }, () => directStream(client)))));
        directWall += performance.now() - t;
        t = performance.now();
        viaDaemon.push(...(await Promise.all(sessions.map((session, i) => daemonStream(session, i)))));
        daemonWall += performance.now() - t;
      }
      for (const session of sessions) session.close();
      const d = summary(direct.map((s) => s.ttftMs));
      const v = summary(viaDaemon.map((s) => s.ttftMs));
      const dt = throughput(direct, directWall);
      const vt = throughput(viaDaemon, daemonWall);
      lines.push(
        `| ${concurrency} | ${ms(d.median)} | ` +
          `${ms(v.median)} | ${ms(v.median - d.median)} | ${ms(v.p90)} | ${Math.round(dt)} | ${Math.round(vt)} | ${(vt / dt).toFixed(2)}× |`,
      );
    }
    lines.push('');

    // Cached aid/models: the lists are warm after the asks above.
    const session = await connect(sandbox);
    await session.connection.sendRequest(ModelsRequest, {});
    const models: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await session.connection.sendRequest(ModelsRequest, {});
      models.push(performance.now() - t);
    }
    session.close();
    const m = summary(models);
    lines.push(
      '### Cached `aid/models` (2,000 sequential requests, one client)',
      '',
      '| p50 | p90 | p99 |',
      '|---|---|---|',
      `| ${ms(m.median)} | ${ms(m.p90)} | ${ms(m.p99)} |`,
      '',
    );
  } finally {
    await teardown(sandbox);
    sim.child.kill('SIGTERM');
  }
  lines.push(...(await benchCancel(summary, ms)));
  return lines;
}

/** From the client's $/cancelRequest to the provider seeing its connection closed. */
async function benchCancel(summary: (samples: number[]) => Summary, ms: (n: number) => string): Promise<string[]> {
  // In this process, so the moment the simulator sees the abort is on the same clock.
  const sim = new CloudSimulator({ kind: 'anthropic', apiKey: KEY, tokenDelayMs: 50, reply: () => Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ') });
  const url = await sim.start();
  const sandbox = makeSandbox({ env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url } });
  const samples: number[] = [];
  try {
    if ((await aid(['start'], sandbox)).code !== 0) throw new Error('could not start aid');
    const session = await connect(sandbox);
    for (let i = 0; i < 20; i++) {
      const source = new CancellationTokenSource();
      const first = sim.waitForFirstChunk();
      const pending = session.connection
        .sendRequest(AskRequest, { prompt: 'bench', model: 'anthropic/claude-haiku-4-5', streamToken: `c${i}` }, source.token)
        .catch(() => undefined);
      await first;
      const aborted = sim.waitForAbort();
      const t = performance.now();
      source.cancel();
      await aborted;
      samples.push(performance.now() - t);
      await pending;
    }
    session.close();
  } finally {
    await teardown(sandbox);
    await sim.stop();
  }
  const c = summary(samples);
  return [
    '### Cancellation (Anthropic simulator; $/cancelRequest to the provider seeing the stream closed, 20 runs)',
    '',
    '| p50 | p90 | max |',
    '|---|---|---|',
    `| ${ms(c.median)} | ${ms(c.p90)} | ${ms(Math.max(...samples))} |`,
    '',
  ];
}

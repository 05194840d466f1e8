import { CloudSimulator, type CloudKind } from './cloud-simulator';

const KINDS: CloudKind[] = ['anthropic', 'openai', 'openrouter', 'gemini'];

/**
 * `node dist/test/fakes/run-cloud-simulator.js --kind openai [--port N] [--delay MS] [--reply-words N] [--key K]`:
 * prints the base URL a daemon would be configured with, runs until a signal. A separate process,
 * for benchmarks and manual runs that must not share the event loop with the daemon under test.
 */
async function main(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const flag = (name: string): number | undefined => {
    const text = value(name);
    return text !== undefined ? Number(text) : undefined;
  };
  const kind = KINDS.find((k) => k === value('--kind'));
  if (!kind) {
    process.stderr.write(`run-cloud-simulator: --kind must be one of ${KINDS.join(', ')}\n`);
    process.exit(2);
  }
  const port = flag('--port');
  const delay = flag('--delay');
  const words = flag('--reply-words');
  const key = value('--key');
  const sim = new CloudSimulator({
    kind,
    ...(port !== undefined ? { port } : {}),
    ...(delay !== undefined ? { tokenDelayMs: delay } : {}),
    ...(words !== undefined ? { reply: () => Array.from({ length: words }, (_, i) => `tok${i}`).join(' ') } : {}),
    ...(key !== undefined ? { apiKey: key } : {}),
  });
  process.stdout.write((await sim.start()) + '\n');
  const stop = (): void => void sim.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) void main(process.argv.slice(2));

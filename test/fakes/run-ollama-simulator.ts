import { OllamaSimulator } from './ollama-simulator';

/**
 * `node dist/test/fakes/run-ollama-simulator.js [--port N] [--delay MS] [--reply-words N]`: prints
 * its URL, runs until a signal. A separate process, for benchmarks that block their own event loop.
 */
async function main(argv: string[]): Promise<void> {
  const flag = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : undefined;
  };
  const port = flag('--port');
  const delay = flag('--delay');
  const words = flag('--reply-words');
  const sim = new OllamaSimulator({
    ...(port !== undefined ? { port } : {}),
    ...(delay !== undefined ? { tokenDelayMs: delay } : {}),
    ...(words !== undefined ? { reply: () => Array.from({ length: words }, (_, i) => `tok${i}`).join(' ') } : {}),
  });
  process.stdout.write((await sim.start()) + '\n');
  const stop = (): void => void sim.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) void main(process.argv.slice(2));

import { OllamaSimulator } from '../fakes/ollama-simulator';
import { SandboxPool } from './daemon';

/**
 * Mocha hooks for a suite whose tests each get a fresh Ollama simulator, and whose sandboxes are
 * torn down (daemons stopped) after each test. Call inside `describe`.
 */
export function ollamaSuite(): { pool: SandboxPool; sim: () => OllamaSimulator } {
  const pool = new SandboxPool();
  let sim: OllamaSimulator | undefined;
  beforeEach(async () => {
    sim = new OllamaSimulator();
    await sim.start();
  });
  afterEach(async () => {
    await pool.teardownAll();
    await sim?.stop();
  });
  return {
    pool,
    sim: () => {
      if (!sim) throw new Error('the simulator starts in beforeEach');
      return sim;
    },
  };
}

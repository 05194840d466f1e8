import { CloudSimulator, type CloudSimulatorOptions } from '../fakes/cloud-simulator';
import { OllamaSimulator, type OllamaSimulatorOptions } from '../fakes/ollama-simulator';

/** Provider simulators started during a test, stopped together after it (`afterEach(() => sims.stopAll())`). */
export class SimulatorPool {
  private readonly running: { stop(): Promise<void> }[] = [];

  async ollama(options: OllamaSimulatorOptions = {}): Promise<OllamaSimulator> {
    const sim = new OllamaSimulator(options);
    this.running.push(sim);
    await sim.start();
    return sim;
  }

  async cloud(options: CloudSimulatorOptions): Promise<CloudSimulator> {
    const sim = new CloudSimulator(options);
    this.running.push(sim);
    await sim.start();
    return sim;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((s) => s.stop()));
  }
}

/** The user message of the last chat an Ollama simulator received: what the model was sent. */
export function lastPrompt(sim: OllamaSimulator): string {
  return chatPrompts(sim).at(-1) ?? '';
}

/** The user message of every chat an Ollama simulator received, in order. */
export function chatPrompts(sim: OllamaSimulator): string[] {
  return sim.requests
    .filter((r) => r.path === '/api/chat')
    .map((r) => (r.body as { messages: { role: string; content: string }[] }).messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
}

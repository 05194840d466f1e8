import type { ChatEvent, ChatRequest, DiscoveredModel, HealthReport, ProviderAdapter } from '../../daemon/providers/types';
import { ProviderError, zeroUsage } from '../../daemon/providers/types';

/** A clock the test moves by hand, so timings come out exact. */
export class ManualClock {
  constructor(public t = 1000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A ProviderAdapter whose behaviour each unit test scripts, handed to HostRegistry through its
 * `createAdapter` factory. Test code only; the real adapters are tested against simulators.
 */
export class ScriptedAdapter implements ProviderAdapter {
  readonly provider = 'ollama' as const;
  models: DiscoveredModel[] = [{ id: 'llama3.2:latest' }, { id: 'qwen2.5-coder:7b' }];
  version = '9.9';
  /** Thrown by health() and listModels() (a host that is down). */
  down: ProviderError | undefined;
  /** Thrown by health() only: a probe failed, the listing still works (a stale "down"). */
  healthFails: ProviderError | undefined;
  /** health() and listModels() wait until their signal aborts. */
  hang = false;
  /** The answer, one delta per element. */
  chunks = ['Hel', 'lo'];
  usage = { ...zeroUsage(), inputTokens: 5, outputTokens: 2 };
  /** Thrown before the first chunk, or before chunk `failAfter`. */
  failWith: Error | undefined;
  failAfter: number | undefined;
  /** How many calls fail with failWith before the next ones succeed; every call when undefined. */
  failCount: number | undefined;
  /** After this many chunks, go silent until the signal aborts (a stalled stream). */
  stallAfter: number | undefined;
  /** Clock time each chunk (and the done event) takes to arrive. */
  chunkMs = 0;
  /** Clock time a health probe takes. */
  healthMs = 0;
  readonly requests: ChatRequest[] = [];
  healthCalls = 0;
  listCalls = 0;

  constructor(
    readonly baseUrl: string,
    private readonly clock?: ManualClock,
  ) {}

  private async hangUntilAborted(signal: AbortSignal, always = false): Promise<void> {
    if (!this.hang && !always) return;
    await new Promise<never>((_, reject) => {
      const fail = (): void => reject(new ProviderError('cancelled', 'aborted by the caller'));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
  }

  async health(signal: AbortSignal): Promise<HealthReport> {
    this.healthCalls++;
    await this.hangUntilAborted(signal);
    this.clock?.advance(this.healthMs);
    const failure = this.down ?? this.healthFails;
    if (failure) throw failure;
    return { version: this.version };
  }

  /** listModels() waits for this before answering (with the list as it was when asked). */
  listGate: Promise<void> | undefined;

  async listModels(signal: AbortSignal): Promise<DiscoveredModel[]> {
    this.listCalls++;
    const models = this.models;
    await this.hangUntilAborted(signal);
    await this.listGate;
    if (this.down) throw this.down;
    return models;
  }

  async *streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    this.requests.push(request);
    const fails = this.failWith !== undefined && (this.failCount === undefined || this.failCount-- > 0);
    // A failure before the first chunk is the host refusing the request; after that it had taken it.
    if (fails && this.failWith && (this.failAfter ?? 0) === 0) throw this.failWith;
    yield { type: 'accepted' };
    for (let i = 0; i < this.chunks.length; i++) {
      if (fails && this.failWith && (this.failAfter ?? 0) === i) throw this.failWith;
      if (this.stallAfter === i) await this.hangUntilAborted(signal, true);
      // A real adapter stops reading when its signal fires; so does this one.
      if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
      await new Promise((resolve) => setImmediate(resolve));
      this.clock?.advance(this.chunkMs);
      yield { type: 'delta', text: this.chunks[i] };
    }
    if (signal.aborted) throw new ProviderError('cancelled', 'request cancelled');
    this.clock?.advance(this.chunkMs);
    yield { type: 'done', usage: { ...this.usage }, finishReason: 'stop' };
  }
}

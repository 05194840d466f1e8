import { strict as assert } from 'node:assert';
import { ProviderError, type ChatEvent } from '../../daemon/providers/types';

/** Every event of an adapter's stream, also pushed into `seen` as they come (for partial runs). */
export async function collect(events: AsyncIterable<ChatEvent>, seen: ChatEvent[] = []): Promise<ChatEvent[]> {
  for await (const e of events) seen.push(e);
  return seen;
}

/** The ProviderError a call fails with; any other outcome fails the test. */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ProviderError');
}

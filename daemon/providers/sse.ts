/** One server-sent event: its name when it had an `event:` line, and its joined `data:` lines. */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Server-sent events from a response body, per the WHATWG rules the providers follow: events end
 * at a blank line, `\r\n`, `\r` and `\n` all end lines (Google sends `\r\n\r\n`), comment lines
 * (`:` keep-alives) are skipped, several `data:` lines join with `\n`. The SDKs have their own
 * parsers; this one serves the provider we call with fetch (Gemini's native API).
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | undefined;
  let data: string[] = [];
  const take = function* (line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length) yield { ...(event !== undefined ? { event } : {}), data: data.join('\n') };
      event = undefined;
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      // A lone `\r` at the end of the buffer may be the first half of `\r\n`: wait for more.
      if (buffer[end] === '\r' && end === buffer.length - 1) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      yield* take(line);
    }
  }
  // An event not ended by a blank line is incomplete (the body was cut) and is dropped, as the
  // standard says; callers notice the missing end of the answer.
}

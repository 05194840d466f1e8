import { Transform, type TransformCallback } from 'node:stream';

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 8 * 1024;

/**
 * Sits between the socket and the JSON-RPC reader and checks the framing before a single body
 * byte is buffered: vscode-jsonrpc would otherwise wait for (and hold) any Content-Length a
 * client announces. Oversized or malformed frames fail the stream, which closes the connection.
 */
export class FrameGuard extends Transform {
  private header = Buffer.alloc(0);
  private bodyLeft = 0;

  constructor(private readonly maxBodyBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        if (this.bodyLeft > 0) {
          const take = Math.min(this.bodyLeft, chunk.length - offset);
          this.bodyLeft -= take;
          offset += take;
          continue;
        }
        // In a header: look for its end across chunk boundaries.
        const rest = chunk.subarray(offset);
        const joined = this.header.length ? Buffer.concat([this.header, rest]) : rest;
        const end = joined.indexOf(HEADER_END);
        if (end === -1) {
          if (joined.length > MAX_HEADER_BYTES) throw new FrameError(`header longer than ${MAX_HEADER_BYTES} bytes`);
          this.header = Buffer.from(joined);
          offset = chunk.length;
          break;
        }
        const consumedFromRest = end + HEADER_END.length - this.header.length;
        this.bodyLeft = this.parseLength(joined.subarray(0, end).toString('ascii'));
        this.header = Buffer.alloc(0);
        offset += consumedFromRest;
      }
      callback(null, chunk);
    } catch (error) {
      callback(error as Error);
    }
  }

  private parseLength(header: string): number {
    let length: number | undefined;
    for (const line of header.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new FrameError(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      if (line.slice(0, colon).trim().toLowerCase() === 'content-length') {
        const value = line.slice(colon + 1).trim();
        if (!/^\d{1,12}$/.test(value)) throw new FrameError(`Content-Length is not a number: ${JSON.stringify(value.slice(0, 40))}`);
        length = Number(value);
      }
    }
    if (length === undefined) throw new FrameError('header without Content-Length');
    if (length > this.maxBodyBytes) throw new FrameError(`message of ${length} bytes exceeds the ${this.maxBodyBytes}-byte limit`);
    return length;
  }
}

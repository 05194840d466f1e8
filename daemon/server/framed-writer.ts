import type { Duplex } from 'node:stream';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';

/**
 * Writes each JSON-RPC message as one buffer (header and body together), and lets the socket
 * gather everything written in one turn of the event loop into a single write. The stock writer
 * issues two writes per message, which at a hundred streams of tokens was the daemon's largest
 * single cost.
 */
export class FramedWriter extends AbstractMessageWriter implements MessageWriter {
  private corked = false;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on('error', (error: Error) => this.fireError(error));
    socket.on('close', () => this.fireClose());
  }

  write(message: Message): Promise<void> {
    const body = JSON.stringify(message);
    const frame = `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
    if (!this.corked && !this.socket.writableEnded) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    return new Promise((resolve, reject) => {
      if (this.socket.writableEnded || this.socket.destroyed) return reject(new Error('the connection is closed'));
      this.socket.write(frame, 'utf8', (error) => (error ? reject(error) : resolve()));
    });
  }

  end(): void {
    // The connection owner ends the socket; nothing is buffered here.
  }
}

import * as net from 'node:net';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { HandshakeRequest, type HandshakeResult } from './handshake';
import { SocketUnreachableError, connectSocket } from './socket';
import { ALL_CAPABILITIES, PROTOCOL_VERSION } from './version';

export { SocketUnreachableError, connectSocket };

export interface Session {
  connection: MessageConnection;
  socket: net.Socket;
  daemon: HandshakeResult;
  close(): void;
}

/** Opens a JSON-RPC connection over the socket and performs the handshake. */
export async function openSession(socketPath: string, clientVersion: string, client: string, timeoutMs = 2000): Promise<Session> {
  const socket = await connectSocket(socketPath, timeoutMs);
  const connection = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
  connection.listen();
  const close = (): void => {
    connection.dispose();
    socket.destroy();
  };
  try {
    const daemon = await withTimeout(
      connection.sendRequest(HandshakeRequest, { clientVersion, protocolVersion: PROTOCOL_VERSION, client, capabilities: [...ALL_CAPABILITIES] }),
      timeoutMs,
      () => new SocketUnreachableError(socketPath, 'no handshake answer'),
    );
    return { connection, socket, daemon, close };
  } catch (error) {
    close();
    throw error;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

import * as net from 'node:net';
import type { NotificationType } from 'vscode-jsonrpc';
import type { Logger } from '../log/logger';
import { ClientConnection, type AbortReason } from './connection';
import type { HandlerRegistry } from './handlers';
import { listenOnFd, listenOnPath, type BoundSocket } from './socket';

export interface ServerOptions {
  registry: HandlerRegistry;
  logger: Logger;
  handshakeTimeoutMs: () => number;
  maxMessageBytes: number;
}

/** The socket listener and the set of live client connections. */
export class DaemonServer {
  private readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  private nextId = 1;
  private shuttingDown = false;

  constructor(private readonly options: ServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => options.logger.error('listener error', { error: error.message }));
  }

  listenOnPath(socketPath: string): Promise<BoundSocket> {
    return listenOnPath(this.server, socketPath);
  }

  listenOnFd(fd: number): Promise<void> {
    return listenOnFd(this.server, fd);
  }

  private accept(socket: net.Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    const connection = new ClientConnection({
      id: this.nextId++,
      socket,
      registry: this.options.registry,
      logger: this.options.logger,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs(),
      maxMessageBytes: this.options.maxMessageBytes,
      isShuttingDown: () => this.shuttingDown,
      onClosed: (c) => this.connections.delete(c),
      onSettled: () => this.notifyIfIdle(),
    });
    this.connections.add(connection);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get activeRequests(): number {
    let total = 0;
    for (const c of this.connections) total += c.activeRequests;
    return total;
  }

  /**
   * Stops accepting new connections and new requests; existing ones stay open. Does not wait for
   * close's callback: that fires only after every connection ended, which is a later step.
   * Closing the listener unlinks its path (libuv does), so a daemon whose path now holds another
   * daemon's socket passes `closeListener: false` and leaves the listener to the process exit.
   */
  stopAccepting(closeListener = true): void {
    this.shuttingDown = true;
    if (closeListener) this.server.close();
  }

  abortAll(reason: AbortReason): void {
    for (const c of this.connections) c.abortAll(reason);
  }

  private idleWaiters: (() => void)[] = [];

  private notifyIfIdle(): void {
    if (this.activeRequests === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Waits until in-flight requests have answered (their errors reach the clients), or the deadline. */
  async drain(deadlineMs: number): Promise<void> {
    if (this.activeRequests > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // vscode-jsonrpc queues each answer behind a setImmediate before writing it: give the last
    // answers a moment to reach the sockets before the connections close.
    await new Promise((r) => setTimeout(r, 50));
  }

  /** Sends a notification to every connected client that has completed its handshake. */
  broadcast<P>(type: NotificationType<P>, params: P): void {
    for (const c of this.connections) if (c.ready) c.notify(type, params);
  }

  closeConnections(): void {
    for (const c of [...this.connections]) c.close();
  }
}

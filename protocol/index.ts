export * from './version';
export * from './errors';
export * from './handshake';
export * from './daemon';
export * from './hosts';
export * from './models';
export * from './chat';
export * from './ollama';

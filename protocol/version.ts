/**
 * Protocol identity. The protocol version changes when a method's shape changes incompatibly;
 * the build version (package.json) is compared too, so a client never talks to a daemon built
 * from other sources. 2: a cancelled request answers -32800 (was -33010); invalid messages are
 * answered (-32700, -32600) instead of ignored or closed. 3: `finishReason` is one of a documented
 * set for every provider (the provider's own word moved to `providerFinishReason`).
 */
export const PROTOCOL_VERSION = 3;

/** Capabilities a daemon of this build offers; clients check before using an optional feature. */
export const Capabilities = {
  status: 'status',
  hosts: 'hosts',
  models: 'models',
  askStream: 'ask.stream',
  /** aid/ask/notice: failovers, retries and warnings while an ask runs. */
  askNotice: 'ask.notice',
  /** aid/ask/start: the session and model of an ask, sent before its first text. */
  askStart: 'ask.start',
  /** aid/ask takes `editor` (buffer, selection, cursor) and `progressToken`. */
  askEditor: 'ask.editor',
  modelManagement: 'models.manage',
  /** aid/context*: the intelligence engine's ranking, suggestions, learner; asks attach context. */
  context: 'context',
  reload: 'reload',
  shutdown: 'shutdown',
} as const;
export type Capability = (typeof Capabilities)[keyof typeof Capabilities];
export const ALL_CAPABILITIES: readonly Capability[] = Object.values(Capabilities);

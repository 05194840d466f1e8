/**
 * Stands in for the `vscode-jsonrpc` package inside the bundled client (esbuild --alias). The
 * protocol modules construct RequestType/NotificationType objects at load time and the client
 * only reads their `method`; this avoids evaluating the whole library at every `aic` start.
 * Types still come from vscode-jsonrpc at compile time.
 */
class MessageSignature {
  constructor(readonly method: string) {}
}
export class RequestType extends MessageSignature {}
export class RequestType0 extends MessageSignature {}
export class NotificationType extends MessageSignature {}
export class NotificationType0 extends MessageSignature {}

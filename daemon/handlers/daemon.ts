import { z } from 'zod';
import { HandshakeRequest, type HandshakeResult } from '../../protocol/handshake';
import {
  ConfigShowRequest,
  ReloadRequest,
  ShutdownRequest,
  StatusRequest,
  type ConfigShowResult,
  type DefaultModel,
  type ReloadResult,
  type StatusResult,
} from '../../protocol/daemon';
import { ErrorCodes } from '../../protocol/errors';
import { ALL_CAPABILITIES, PROTOCOL_VERSION } from '../../protocol/version';
import { AidError } from '../errors/aid-error';
import { defineHandler, noParams, type Handler } from '../server/handlers';

export interface DaemonHandlerDeps {
  version: string;
  status: () => Omit<StatusResult, 'defaultModel'>;
  /** What an ask without a model would use; may consult the hosts' cached model lists. */
  defaultModel: (signal: AbortSignal) => Promise<DefaultModel>;
  reload: () => ReloadResult;
  /** Starts the shutdown after the answer has been sent. */
  requestShutdown: (reason: string) => void;
  config: () => ConfigShowResult;
}

const handshakeParams = z.object({
  clientVersion: z.string(),
  protocolVersion: z.number().int(),
  client: z.string().max(100),
  capabilities: z.array(z.string()).max(100),
});

export function daemonHandlers(deps: DaemonHandlerDeps): Handler[] {
  return [
    defineHandler(
      HandshakeRequest,
      handshakeParams,
      (params): HandshakeResult => {
        if (params.protocolVersion !== PROTOCOL_VERSION) {
          throw new AidError(
            ErrorCodes.VersionMismatch,
            `protocol ${params.protocolVersion} is not spoken by this daemon ` +
              `(protocol ${PROTOCOL_VERSION}, aid ${deps.version}); restart it with \`aid restart\``,
            { daemonVersion: deps.version, protocolVersion: PROTOCOL_VERSION },
          );
        }
        // A different build version is answered normally: the client decides to restart us.
        return { daemonVersion: deps.version, protocolVersion: PROTOCOL_VERSION, pid: process.pid, capabilities: [...ALL_CAPABILITIES] };
      },
      { beforeHandshake: true },
    ),
    defineHandler(StatusRequest, noParams, async (_params, context) => ({ ...deps.status(), defaultModel: await deps.defaultModel(context.signal) })),
    defineHandler(ReloadRequest, noParams, () => deps.reload()),
    defineHandler(ConfigShowRequest, noParams, () => deps.config()),
    defineHandler(ShutdownRequest, z.object({ reason: z.string().max(200).optional() }), (params) => {
      setImmediate(() => deps.requestShutdown(params.reason ?? 'requested by a client'));
      return { pid: process.pid };
    }),
  ];
}

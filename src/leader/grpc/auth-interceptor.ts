import {
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from '../../shared/grpc-status.js';
import type { Admission } from '../auth/admission.js';
import type { AuditLog } from '../auth/audit-log.js';
import { RPC_NEEDS } from '../auth/permissions.js';

/**
 * Checks every call's bearer token (or, for a worker's calls, its client certificate's
 * name) against what its method needs (auth/permissions.ts) before a handler sees it:
 * refused with UNAUTHENTICATED or PERMISSION_DENIED, nothing runs. A method with no entry is refused as well (the server checks the table at start,
 * see checkRpcNeeds, so that cannot happen in a build that started).
 */
export function authInterceptor(
  admission: Admission,
  audit: AuditLog,
  logger: Logger,
): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const need = RPC_NEEDS[method.path];
            const headers = metadata
              .get('authorization')
              .map((value) => (typeof value === 'string' ? value : value.toString('latin1')));
            try {
              if (need === undefined) throw new Error(`no role for ${method.path}`);
              const who = admission.check(
                need,
                headers,
                () => call.getAuthContext().sslPeerCertificate,
              );
              audit.admitted(who, need, method.path, call.getPeer());
            } catch (err) {
              audit.refused(method.path, call.getPeer(), (err as Error).message);
              const { code, details } = toGrpcStatus(err, logger);
              call.sendStatus({ code, details: details ?? '' });
              return;
            }
            pass(metadata);
          },
        });
      },
    });
}

/** Every method of `services` has a role in RPC_NEEDS; throws naming those that do not. */
export function checkRpcNeeds(services: readonly ServiceDefinition[]): void {
  const missing = services
    .flatMap((service) => Object.values(service).map((method) => method.path))
    .filter((path) => RPC_NEEDS[path] === undefined);
  if (missing.length > 0)
    throw new Error(`methods with no role in RPC_NEEDS: ${missing.join(', ')}`);
}

import {
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from '../../shared/grpc-status.js';
import type { Admission } from '../auth/admission.js';
import type { AuditLog } from '../auth/audit-log.js';
import { holdAdmission } from '../auth/held-admission.js';
import { RPC_NEEDS } from '../auth/permissions.js';
import type { Need } from '../auth/roles.js';

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
  return (method, call) => {
    // A stream stays open for as long as the client likes: it is held under its admission
    // and cut if the tokens change under it (see holdAdmission). A unary call ends anyway.
    const lasting = method.requestStream || method.responseStream;
    let release = (): void => {};
    const refuse = (err: unknown, prefix = ''): void => {
      const { code, details } = toGrpcStatus(err, logger);
      call.sendStatus({ code, details: `${prefix}${details ?? ''}` });
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const need = RPC_NEEDS[method.path];
            const headers = metadata
              .get('authorization')
              .map((value) => (typeof value === 'string' ? value : value.toString('latin1')));
            const check = (needed: Need): string =>
              admission.check(needed, headers, () => call.getAuthContext().sslPeerCertificate);
            try {
              if (need === undefined) throw new Error(`no role for ${method.path}`);
              audit.admitted(check(need), need, method.path, call.getPeer());
            } catch (err) {
              audit.refused(method.path, call.getPeer(), (err as Error).message);
              refuse(err);
              return;
            }
            if (lasting) {
              release = holdAdmission(
                admission.tokens,
                () => check(need),
                (err) => {
                  audit.refused(method.path, call.getPeer(), `cut: ${(err as Error).message}`);
                  refuse(err, 'the tokens file changed and this call is no longer admitted: ');
                },
              );
            }
            pass(metadata);
          },
          onCancel: () => release(),
        });
      },
      sendStatus: (status, next) => {
        release();
        next(status);
      },
    });
  };
}

/** Every method of `services` has a role in RPC_NEEDS; throws naming those that do not. */
export function checkRpcNeeds(services: readonly ServiceDefinition[]): void {
  const missing = services
    .flatMap((service) => Object.values(service).map((method) => method.path))
    .filter((path) => RPC_NEEDS[path] === undefined);
  if (missing.length > 0)
    throw new Error(`methods with no role in RPC_NEEDS: ${missing.join(', ')}`);
}

import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { LeaderServiceService } from '../../gen/cluster/v1/leader.js';
import { SchedulerServiceService } from '../../gen/scheduler/v1/scheduler.js';
import { schedulerService } from './scheduler-service.js';
import { tolerant } from '../../shared/malformed.js';
import type { LeaderApi } from '../leader-api.js';
import type { LeaderDirectory } from '../leader-role.js';
import { leaderService } from './leader-service.js';
import { authInterceptor, checkRpcNeeds } from './auth-interceptor.js';
import type { Admission } from '../auth/admission.js';
import { AuditLog } from '../auth/audit-log.js';
import { addReflection } from './reflection.js';

/** The fully qualified names of the services drover serves, as health and reflection see them. */
export const SERVICE_NAMES = ['cluster.v1.LeaderService', 'scheduler.v1.SchedulerService'] as const;

/** The standard health service (grpc-health-check), served beside them. */
const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** Server-side transport settings. */
export interface ServerOptions {
  /** Largest request accepted by gRPC itself; larger ones fail with RESOURCE_EXHAUSTED. */
  readonly maxReceiveMessageBytes: number;
  /** Ping idle connections this often so a dead TCP peer cannot hold a stream open. */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** Who may call (tokens, worker certificate names; issue #20); none: the leader is open. */
  readonly admission?: Admission | undefined;
  /** Where admitted changes and refusals are written (with `admission`). */
  readonly audit?: AuditLog | undefined;
}

/** A built server, its health service, and how to put it on the network. */
export interface LeaderServer {
  readonly server: Server;
  readonly health: HealthImplementation;
  /** Binds one address; returns the port actually bound (for ":0"). */
  bind(address: string, credentials: ServerCredentials): Promise<number>;
}

/**
 * Builds the gRPC server: LeaderService and SchedulerService on every bound port (so
 * go-work's commands for :50051 and :50052 both work), plus grpc.health.v1 and server
 * reflection (v1 and v1alpha) over the descriptors `buf build` made from proto/.
 */
export function buildLeaderServer(
  coordinator: LeaderApi,
  directory: LeaderDirectory,
  logger: Logger,
  options: ServerOptions,
): LeaderServer {
  // Guarded, every call is checked before its handler (issue #20); open, no interceptor
  // at all: an open leader pays nothing per call.
  const guard = options.admission?.guarded === true ? options.admission : undefined;
  if (guard) checkRpcNeeds([LeaderServiceService, SchedulerServiceService]);
  const audit = options.audit ?? new AuditLog(logger.child({ component: 'audit' }), Date.now);
  const server = new Server({
    ...(guard ? { interceptors: [authInterceptor(guard, audit, logger)] } : {}),
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    // Workers ping their stream; accept pings at the rate they send them.
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    // channelz (a debugging registry of every call) costs ~6 % of the leader's CPU per
    // call when profiled under load, and drover exposes no channelz service.
    'grpc.enable_channelz': 0,
  });
  const log = logger.child({ component: 'grpc' });
  // tolerant(): a request that does not decode is refused with INVALID_ARGUMENT by the
  // handlers, not with grpc-js's INTERNAL (see shared/malformed.ts).
  server.addService(
    tolerant(LeaderServiceService),
    leaderService(coordinator, directory, log, { guarded: guard !== undefined }),
  );
  server.addService(
    tolerant(SchedulerServiceService),
    schedulerService(coordinator, log, { reportsOnStreamOnly: guard !== undefined }),
  );

  const health = new HealthImplementation(
    Object.fromEntries([
      ['', 'NOT_SERVING'],
      ...SERVICE_NAMES.map((name) => [name, 'NOT_SERVING']),
    ]),
  );
  health.addToServer(server);

  addReflection(server, [...SERVICE_NAMES, HEALTH_SERVICE_NAME]);

  return {
    server,
    health,
    bind: (address, credentials) =>
      new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
      }),
  };
}

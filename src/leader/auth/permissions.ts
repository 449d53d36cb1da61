import type { Need } from './roles.js';

/**
 * The role each gRPC method needs, by its full path. Every method the leader serves must be
 * here: the server refuses to start with one that is not (see grpc/auth-interceptor.ts), so
 * a new RPC cannot go out unguarded.
 */
export const RPC_NEEDS: Readonly<Record<string, Need>> = {
  '/cluster.v1.LeaderService/Join': 'worker',
  '/cluster.v1.LeaderService/Heartbeat': 'worker',
  '/cluster.v1.LeaderService/Leave': 'worker',
  '/cluster.v1.LeaderService/Members': 'read',
  '/cluster.v1.LeaderService/WatchMembers': 'read',
  '/cluster.v1.LeaderService/Leaders': 'read',
  '/cluster.v1.LeaderService/Drain': 'admin',
  '/cluster.v1.LeaderService/Undrain': 'admin',
  '/scheduler.v1.SchedulerService/ScheduleTask': 'write',
  '/scheduler.v1.SchedulerService/ScheduleTasks': 'write',
  '/scheduler.v1.SchedulerService/ScheduleTaskStream': 'write',
  '/scheduler.v1.SchedulerService/CancelTask': 'write',
  '/scheduler.v1.SchedulerService/DeleteTask': 'write',
  '/scheduler.v1.SchedulerService/RetryTask': 'write',
  '/scheduler.v1.SchedulerService/RetryFailedTasks': 'write',
  // A manual completion (attempt 0) is an operator's write; workers report on their stream.
  '/scheduler.v1.SchedulerService/TaskComplete': 'write',
  '/scheduler.v1.SchedulerService/GetTasks': 'read',
  '/scheduler.v1.SchedulerService/GetTask': 'read',
  '/scheduler.v1.SchedulerService/WatchTasks': 'read',
  '/scheduler.v1.SchedulerService/GetTaskOutput': 'read',
  '/scheduler.v1.SchedulerService/ListPauses': 'read',
  '/scheduler.v1.SchedulerService/ListLimits': 'read',
  '/scheduler.v1.SchedulerService/ListCronSchedules': 'read',
  '/scheduler.v1.SchedulerService/Pause': 'admin',
  '/scheduler.v1.SchedulerService/Resume': 'admin',
  '/scheduler.v1.SchedulerService/SetLimit': 'admin',
  '/scheduler.v1.SchedulerService/RemoveLimit': 'admin',
  '/scheduler.v1.SchedulerService/AddCronSchedule': 'admin',
  '/scheduler.v1.SchedulerService/RemoveCronSchedule': 'admin',
  '/scheduler.v1.SchedulerService/PauseCronSchedule': 'admin',
  '/scheduler.v1.SchedulerService/ResumeCronSchedule': 'admin',
  // Probes must work without a token; reflection shows what a `read` caller may call.
  '/grpc.health.v1.Health/Check': 'public',
  '/grpc.health.v1.Health/Watch': 'public',
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo': 'read',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': 'read',
};

/**
 * The role each HTTP route needs, by method and route pattern as registered with Fastify
 * (HEAD goes as its GET). Every route must be here, but the dashboard's files, which hold
 * no data and are public (their API calls carry the token): the HTTP server refuses to
 * start with one that is not (see http/auth-hook.ts).
 */
export const ROUTE_NEEDS: Readonly<Record<string, Need>> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /openapi.json': 'read',
  'GET /metrics': 'read',
  'GET /v1/stats': 'read',
  'GET /v1/stats::watch': 'read',
  'GET /v1/tasks': 'read',
  'POST /v1/tasks': 'write',
  'GET /v1/tasks/:id': 'read',
  'DELETE /v1/tasks/:id': 'write',
  'POST /v1/tasks/:id(.+)::cancel': 'write',
  'POST /v1/tasks/:id(.+)::retry': 'write',
  'GET /v1/tasks/:id/output': 'read',
  'GET /v1/tasks::watch': 'read',
  'POST /v1/kinds/:kind(.+)::retry-failed': 'write',
  'GET /v1/members': 'read',
  'GET /v1/members::watch': 'read',
  'POST /v1/members/:id(.+)::drain': 'admin',
  'POST /v1/members/:id(.+)::undrain': 'admin',
  'GET /v1/leaders': 'read',
  'GET /v1/whoami': 'token',
  'GET /v1/pauses': 'read',
  'POST /v1/kinds/:kind(.+)::pause': 'admin',
  'POST /v1/kinds/:kind(.+)::resume': 'admin',
  'POST /v1/keys/:key(.+)::pause': 'admin',
  'POST /v1/keys/:key(.+)::resume': 'admin',
  'GET /v1/limits': 'read',
  'PUT /v1/limits/keys/:key': 'admin',
  'DELETE /v1/limits/keys/:key': 'admin',
  'PUT /v1/limits/kinds/:kind': 'admin',
  'DELETE /v1/limits/kinds/:kind': 'admin',
  'GET /v1/cron': 'read',
  'POST /v1/cron': 'admin',
  'PUT /v1/cron/:name': 'admin',
  'DELETE /v1/cron/:name': 'admin',
  'POST /v1/cron/:name(.+)::pause': 'admin',
  'POST /v1/cron/:name(.+)::resume': 'admin',
  // The seed APIs: Koray Gocmen's /start runs an allow-listed command on a chosen worker.
  'POST /start': 'write',
  'POST /stop': 'write',
  'POST /query': 'read',
  'POST /start-job': 'write',
  'PUT /start-job': 'write',
  'PATCH /start-job': 'write',
  'DELETE /start-job': 'write',
  // GET /start-job queues a demo job, as the 2017 dispatcher did: a write.
  'GET /start-job': 'write',
  'GET /status/:id': 'read',
};

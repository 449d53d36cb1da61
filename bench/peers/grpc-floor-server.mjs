// The floor under drover's unary ScheduleTask: a bare grpc-js server of the same service
// definition and message codecs (drover's generated code), whose ScheduleTask does nothing
// but answer. What drover's leader spends per call above this server's CPU is drover's own.
//   node bench/peers/grpc-floor-server.mjs
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { SchedulerServiceService } from '../../dist/gen/scheduler/v1/scheduler.js';

const unimplemented = (_call, callback) =>
  callback({ code: status.UNIMPLEMENTED, details: 'the floor server answers ScheduleTask only' });
const handlers = Object.fromEntries(
  Object.keys(SchedulerServiceService).map((name) => [name, unimplemented]),
);
let next = 0;
handlers.scheduleTask = (call, callback) =>
  callback(null, { id: call.request.task?.id || `t${next++}` });
const server = new Server();
server.addService(SchedulerServiceService, handlers);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(
    `${JSON.stringify({ msg: 'floor listening', address: `127.0.0.1:${port}` })}\n`,
  );
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));

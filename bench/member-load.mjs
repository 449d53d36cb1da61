// Simulated members for the scale benchmark: each one joins and keeps a real heartbeat
// stream open, sending a heartbeat every interval as an idle worker does, over real
// HTTP/2 connections to the leader (one connection per `perConnection` members, since one
// machine cannot usefully hold 10,000 TCP connections of its own).
//   node bench/member-load.mjs <leader> <members> <perConnection> <intervalMs>
// Prints {"msg":"members ready"} once every member has joined and sent a heartbeat, then
// {"msg":"load stats",...} on SIGTERM: heartbeats sent and streams that ended early.
import { credentials, Metadata } from '@grpc/grpc-js';
import {
  HeartbeatRequest,
  HeartbeatStatus,
  JoinRequest,
  LeaderServiceClient,
} from '../dist/gen/cluster/v1/leader.js';

const [leader, membersArg, perConnectionArg, intervalArg] = process.argv.slice(2);
const members = Number(membersArg);
const perConnection = Number(perConnectionArg);
const intervalMs = Number(intervalArg);

const clients = Array.from(
  { length: Math.ceil(members / perConnection) },
  // A local subchannel pool gives each client its own connection.
  () =>
    new LeaderServiceClient(leader, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }),
);

let heartbeats = 0;
let endedEarly = 0;
let stopping = false;
const streams = [];
const timers = [];

function join(client, id) {
  return new Promise((resolve, reject) => {
    // fromPartial: fields added to JoinRequest later take their defaults.
    const request = JoinRequest.fromPartial({
      id,
      slots: 8,
      kinds: ['default'],
      instance: `${id}-1`,
    });
    client.join(request, new Metadata(), { deadline: Date.now() + 60_000 }, (err, response) =>
      err ? reject(err) : resolve(response.session),
    );
  });
}

async function startMember(index) {
  const id = `sim-${index}`;
  const client = clients[Math.floor(index / perConnection)];
  // The session its Join returned: the leader refuses a stream without it.
  const session = await join(client, id);
  const stream = client.heartbeat();
  streams.push(stream);
  stream.on('data', () => {});
  stream.on('error', () => {});
  stream.on('end', () => {
    if (!stopping) endedEarly++;
  });
  // The same idle heartbeat every time; fromPartial fills fields added later.
  const heartbeat = HeartbeatRequest.fromPartial({
    id,
    session,
    status: HeartbeatStatus.HEARTBEAT_STATUS_IDLE,
    freeSlots: 8,
    // Not counted (0): a simulated member runs nothing, so it has nothing to fence.
    serial: 0,
  });
  const beat = () => {
    heartbeats++;
    stream.write(heartbeat);
  };
  beat();
  // Spread members over the interval so the leader sees a steady rate, not bursts.
  const offset = Math.floor(Math.random() * intervalMs);
  timers.push(
    setTimeout(() => {
      beat();
      timers.push(setInterval(beat, intervalMs));
    }, offset),
  );
}

// Join in waves so the leader is not asked for 10,000 joins in one instant.
const WAVE = 200;
for (let i = 0; i < members; i += WAVE) {
  await Promise.all(
    Array.from({ length: Math.min(WAVE, members - i) }, (_, k) => startMember(i + k)),
  );
}
process.stdout.write(`${JSON.stringify({ msg: 'members ready', members })}\n`);

process.on('SIGTERM', () => {
  stopping = true;
  // clearTimeout clears intervals too (one id space in Node).
  for (const timer of timers) clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ msg: 'load stats', heartbeats, endedEarly })}\n`);
  for (const stream of streams) stream.end();
  for (const client of clients) client.close();
  setTimeout(() => process.exit(0), 200).unref();
});

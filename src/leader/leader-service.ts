import type { Logger } from 'pino';
import { Member, MemberEventKind, type LeaderServiceServer } from '../gen/cluster/v1/leader.js';
import { serveWatch } from '../shared/grpc-watch.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { unary } from '../shared/grpc-handler.js';
import { asMemberId } from '../shared/ids.js';
import { DEFAULT_KIND } from '../scheduler/task.js';
import type { Coordinator } from './coordinator.js';
import { handleHeartbeatStream } from './membership/heartbeat-stream.js';
import { memberToWire } from './membership/member-wire.js';

const MAX_SLOTS = 10_000;

/** A removed member on the wire: only its id. */
function removedMember(id: string): Member {
  return { ...Member.fromPartial({}), id };
}

/** cluster.v1.LeaderService over grpc-js: decode, call the coordinator, encode. */
export function leaderService(coordinator: Coordinator, logger: Logger): LeaderServiceServer {
  return {
    join: unary(logger, (request) => {
      if (request.id === '') throw new InvalidArgumentError('member id must not be empty');
      if (request.slots > MAX_SLOTS) {
        throw new InvalidArgumentError(`slots ${request.slots} is over the most, ${MAX_SLOTS}`);
      }
      const timing = coordinator.join({
        id: asMemberId(request.id),
        address: request.address,
        // go-work's Join has no instance: such a caller is one process per id.
        instance: request.instance,
        slots: request.slots === 0 ? 1 : request.slots,
        kinds: new Set(request.kinds.length === 0 ? [DEFAULT_KIND] : request.kinds),
        allowedCommands: new Set(request.allowedCommands),
      });
      return {
        heartbeatIntervalMs: timing.heartbeatIntervalMs,
        heartbeatTimeoutMs: timing.heartbeatTimeoutMs,
      };
    }),
    leave: unary(logger, (request) => {
      if (request.id === '') throw new InvalidArgumentError('member id must not be empty');
      coordinator.leave(asMemberId(request.id));
      return {};
    }),
    members: unary(logger, () => ({ members: coordinator.members().map(memberToWire) })),
    drain: unary(logger, (request) => {
      if (request.id === '') throw new InvalidArgumentError('member id must not be empty');
      return { member: memberToWire(coordinator.drain(asMemberId(request.id))) };
    }),
    heartbeat: (call) => handleHeartbeatStream(call, coordinator, logger),
    watchMembers: (call) =>
      serveWatch(
        call,
        {
          start: (send) => {
            const { snapshot, unsubscribe } = coordinator.watchMembers((event) =>
              send(
                event.kind === 'changed'
                  ? {
                      kind: MemberEventKind.MEMBER_EVENT_KIND_CHANGED,
                      member: memberToWire(event.view),
                    }
                  : {
                      kind: MemberEventKind.MEMBER_EVENT_KIND_REMOVED,
                      member: removedMember(event.id),
                    },
              ),
            );
            return {
              snapshot: snapshot.map((view) => ({
                kind: MemberEventKind.MEMBER_EVENT_KIND_SNAPSHOT,
                member: memberToWire(view),
              })),
              synced: { kind: MemberEventKind.MEMBER_EVENT_KIND_SYNCED, member: undefined },
              unsubscribe,
            };
          },
          onClose: (listener) => coordinator.events.onClose(listener),
        },
        logger,
      ),
  };
}

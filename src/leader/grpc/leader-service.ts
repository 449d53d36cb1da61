import type { Logger } from 'pino';
import {
  Member,
  MemberEventKind,
  type JoinRequest,
  type JoinResponse,
  type LeaderServiceServer,
  type WatchMembersResponse,
} from '../../gen/cluster/v1/leader.js';
import { serveWatch, type WatchSource } from '../../shared/grpc-watch.js';
import { DeniedError, InvalidArgumentError } from '../../shared/errors.js';
import { unary } from '../../shared/grpc-handler.js';
import { memberIdFromWire } from '../../shared/ids.js';
import { checkText, echo } from '../../shared/text.js';
import { checkKind, DEFAULT_KIND } from '../../scheduler/task.js';
import type { LeaderApi } from '../leader-api.js';
import type { LeaderDirectory } from '../leader-role.js';
import { handleHeartbeatStream } from './heartbeat-stream.js';
import { leaderToWire, memberToWire } from './member-wire.js';

const MAX_SLOTS = 10_000;
/** Bounds on what a Join may claim: every member's listing carries them. */
const MAX_KINDS = 256;
const MAX_ALLOWED_COMMANDS = 256;
const MAX_COMMAND_CHARS = 4096;
const MAX_ADDRESS_CHARS = 256;
/** The longest a worker may ask its lost attempts be held from others: 10 minutes. */
const MAX_LOSS_FENCE_MS = 600_000;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks a Join's fields before anything is kept; throws INVALID_ARGUMENT with the reason. */
function checkJoin(request: JoinRequest): void {
  memberIdFromWire(request.id);
  if (request.slots > MAX_SLOTS) {
    throw new InvalidArgumentError(`slots ${request.slots} is over the most, ${MAX_SLOTS}`);
  }
  if (request.address.length > MAX_ADDRESS_CHARS || CONTROL.test(request.address)) {
    throw new InvalidArgumentError(
      `address ${echo(request.address)} must be at most ${MAX_ADDRESS_CHARS} characters, without control characters`,
    );
  }
  checkText(request.address, 'address');
  if (request.instance.length > MAX_ADDRESS_CHARS) {
    throw new InvalidArgumentError(`instance is longer than ${MAX_ADDRESS_CHARS} characters`);
  }
  if (request.kinds.length > MAX_KINDS) {
    throw new InvalidArgumentError(`${request.kinds.length} kinds; the most is ${MAX_KINDS}`);
  }
  for (const kind of request.kinds) checkKind(kind);
  if (request.allowedCommands.length > MAX_ALLOWED_COMMANDS) {
    throw new InvalidArgumentError(
      `${request.allowedCommands.length} allowed commands; the most is ${MAX_ALLOWED_COMMANDS}`,
    );
  }
  for (const command of request.allowedCommands) {
    if (command === '' || command.length > MAX_COMMAND_CHARS || CONTROL.test(command)) {
      throw new InvalidArgumentError(
        `allowed command ${echo(command)} must be 1-${MAX_COMMAND_CHARS} characters, without control characters`,
      );
    }
    checkText(command, 'allowed command');
  }
  if (request.lossFenceMs > MAX_LOSS_FENCE_MS) {
    throw new InvalidArgumentError(
      `loss_fence_ms ${request.lossFenceMs} is over the most, ${MAX_LOSS_FENCE_MS} (10 minutes)`,
    );
  }
}

/** A removed member on the wire: only its id. */
function removedMember(id: string): Member {
  return { ...Member.fromPartial({}), id };
}

/** cluster.v1.LeaderService over grpc-js: decode, call the coordinator, encode. */
export function leaderService(
  coordinator: LeaderApi,
  directory: LeaderDirectory,
  logger: Logger,
  { guarded = false }: { readonly guarded?: boolean } = {},
): LeaderServiceServer {
  return {
    leaders: unary(logger, async () => ({
      leaders: (await directory.leaders()).map(leaderToWire),
    })),
    join: unary(logger, (request) => joinMember(coordinator, request, guarded)),
    leave: unary(logger, (request) => {
      // With tokens, a join token lets a process join; only the session lets it leave, so
      // one worker's token cannot take another member out (issue #20).
      if (guarded && request.session === '') {
        throw new DeniedError(
          'this leader checks who calls (tokens or worker certificates): a Leave must carry the session its Join returned (drover workers send it)',
        );
      }
      const session = request.session === '' ? undefined : request.session;
      coordinator.leave(memberIdFromWire(request.id), session);
      return {};
    }),
    members: unary(logger, () => ({ members: coordinator.members().map(memberToWire) })),
    undrain: unary(logger, (request) => {
      return { member: memberToWire(coordinator.undrain(memberIdFromWire(request.id))) };
    }),
    drain: unary(logger, (request) => {
      return { member: memberToWire(coordinator.drain(memberIdFromWire(request.id))) };
    }),
    heartbeat: (call) => handleHeartbeatStream(call, coordinator, logger),
    watchMembers: (call) =>
      serveWatch(call, memberWatchSource(coordinator), logger, () => coordinator.watchers),
  };
}

/** Join: checks the claim, then admits the member with the defaults go-work's Join leaves out. */
function joinMember(coordinator: LeaderApi, request: JoinRequest, guarded: boolean): JoinResponse {
  checkJoin(request);
  // A Join with no instance counts as a retry of the process that holds the id, and gets
  // its session back: on a guarded leader, any holder of a join token could then take a
  // member's stream. drover workers and the SDK always send one.
  if (guarded && request.instance === '') {
    throw new DeniedError(
      'this leader checks who calls (tokens or worker certificates): a Join must name its process (instance), as drover workers do',
    );
  }
  const timing = coordinator.join({
    id: memberIdFromWire(request.id),
    address: request.address,
    // go-work's Join has no instance: such a caller is one process per id.
    instance: request.instance,
    slots: request.slots === 0 ? 1 : request.slots,
    kinds: new Set(request.kinds.length === 0 ? [DEFAULT_KIND] : request.kinds),
    allowedCommands: new Set(request.allowedCommands),
    timedStarts: request.timedStarts,
    beganNotices: request.beganNotices,
    lossFenceMs: request.lossFenceMs,
    resumed: request.resumed,
  });
  return {
    heartbeatIntervalMs: timing.heartbeatIntervalMs,
    heartbeatTimeoutMs: timing.heartbeatTimeoutMs,
    session: timing.session,
    // The heartbeat stream adapter answers every heartbeat (see heartbeat-stream.ts).
    answersHeartbeats: true,
    fenceAfterMs: timing.fenceAfterMs,
    // The heartbeat stream adapter says which output it saved (outputSaved below).
    outputAcks: true,
  };
}

/** WatchMembers' events: the coordinator's member watch in wire form. */
function memberWatchSource(coordinator: LeaderApi): WatchSource<WatchMembersResponse> {
  return {
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
        snapshot: (function* () {
          for (const view of snapshot) {
            yield {
              kind: MemberEventKind.MEMBER_EVENT_KIND_SNAPSHOT,
              member: memberToWire(view),
            };
          }
        })(),
        synced: { kind: MemberEventKind.MEMBER_EVENT_KIND_SYNCED, member: undefined },
        unsubscribe,
      };
    },
    onClose: (listener) => coordinator.events.onClose(listener),
  };
}

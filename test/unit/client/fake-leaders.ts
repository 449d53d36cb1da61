import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type StatusObject,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  LeaderServiceService,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinRequest,
  type JoinResponse,
  type MembersResponse,
} from '../../../src/gen/cluster/v1/leader.js';
import {
  SchedulerServiceService,
  type ScheduleTaskStreamRequest,
  type ScheduleTaskStreamResponse,
} from '../../../src/gen/scheduler/v1/scheduler.js';
import { LEADER_METADATA_KEY } from '../../../src/shared/leader-hint.js';
import { STREAM_BATCHES_HEADER } from '../../../src/shared/stream-batches.js';
import { afterEach } from 'vitest';
import { defer } from '../../helpers/wait-for.js';

/** The task id that makes a fake active leader step down mid-stream (see `stepDownTo`). */
export const STEP_DOWN_ID = 'step-down';

/**
 * A leader of the HA protocol on a real grpc-js server at 127.0.0.1 on a free port: a
 * standby refuses every call with UNAVAILABLE and, when `hint` is set, the drover-leader
 * trailer; an active one answers what workers, the CLI and the producer call.
 */
export class FakeLeader {
  /** Methods called, in order (`join`, `heartbeat`, `members`, ...). */
  readonly calls: string[] = [];
  /** Every heartbeat received, in order. */
  readonly heartbeats: HeartbeatRequest[] = [];
  /** The active leader a refusal or a step-down names; settable, to build loops. */
  hint: string | undefined;
  /** Active only: ends heartbeat and schedule streams as a leader stepping down does. */
  stepDownTo: string | undefined;
  /** Active only: says it takes several tasks per schedule stream message (`more`). */
  announceBatches = false;
  /** Tasks in each schedule stream message received (1 + its `more`), in order. */
  readonly scheduleMessages: number[] = [];
  /** Active only: overrides fields of its Join answer (timings, answersHeartbeats). */
  joinAnswer: Partial<JoinResponse> = {};
  private readonly firstJoin = defer<JoinRequest>();
  private server: Server | undefined;
  private port = 0;

  private constructor(readonly role: 'standby' | 'active') {}

  /** Starts a fake leader in `role`. */
  static async start(role: 'standby' | 'active', hint?: string): Promise<FakeLeader> {
    const leader = new FakeLeader(role);
    leader.hint = hint;
    await leader.listen();
    return leader;
  }

  /** host:port it listens on. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves with the first Join this leader accepted. */
  get joined(): Promise<JoinRequest> {
    return this.firstJoin.promise;
  }

  /** Times `method` was called. */
  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }

  stop(): void {
    this.server?.forceShutdown();
  }

  /** The status a standby refuses with (and a leader stepping down ends streams with). */
  refusal(hint = this.hint): Partial<StatusObject> {
    const metadata = new Metadata();
    if (hint !== undefined) metadata.set(LEADER_METADATA_KEY, hint);
    const active = hint === undefined ? 'unknown' : hint;
    return {
      code: status.UNAVAILABLE,
      details: `this leader is a standby; the active leader is ${active} (term 3)`,
      metadata,
    };
  }

  private async listen(): Promise<void> {
    const server = new Server();
    for (const service of [LeaderServiceService, SchedulerServiceService]) {
      const definition = service as unknown as ServiceDefinition;
      server.addService(
        definition,
        this.role === 'standby' ? this.refusingAll(definition) : this.answering(),
      );
    }
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
  }

  /** Every method of `definition` refused, after noting the call. */
  private refusingAll(definition: ServiceDefinition): UntypedServiceImplementation {
    const handlers: UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition)) {
      const refuseStream = (call: { emit(event: 'error', err: object): unknown }): void => {
        this.calls.push(name);
        call.emit('error', this.refusal());
      };
      const refuseUnary = (_call: unknown, callback: sendUnaryData<unknown>): void => {
        this.calls.push(name);
        callback(this.refusal());
      };
      handlers[name] = (method.responseStream ? refuseStream : refuseUnary) as UntypedHandleCall;
    }
    return handlers;
  }

  /** The methods an active leader answers; the rest are UNIMPLEMENTED. */
  private answering(): UntypedServiceImplementation {
    return {
      join: (
        call: ServerUnaryCall<JoinRequest, JoinResponse>,
        done: sendUnaryData<JoinResponse>,
      ) => {
        this.calls.push('join');
        this.firstJoin.resolve(call.request);
        done(null, {
          heartbeatIntervalMs: 60_000,
          heartbeatTimeoutMs: 180_000,
          fenceAfterMs: 0,
          session: 's',
          // A fake that never answers heartbeats says so: the worker must not time it out.
          answersHeartbeats: false,
          outputAcks: false,
          ...this.joinAnswer,
        });
      },
      heartbeat: (call: ServerDuplexStream<HeartbeatRequest, HeartbeatResponse>) => {
        this.calls.push('heartbeat');
        let steppedDown = false;
        call.on('data', (request: HeartbeatRequest) => {
          this.heartbeats.push(request);
          if (this.stepDownTo === undefined || steppedDown) return;
          steppedDown = true;
          call.emit('error', this.refusal(this.stepDownTo));
        });
        call.on('end', () => call.end());
      },
      members: (_call: unknown, done: sendUnaryData<MembersResponse>) => {
        this.calls.push('members');
        done(null, { members: [] });
      },
      scheduleTaskStream: (
        call: ServerDuplexStream<ScheduleTaskStreamRequest, ScheduleTaskStreamResponse>,
      ) => this.answerSchedules(call),
    };
  }

  /** Saves every task (its id echoed), until one with STEP_DOWN_ID ends the stream. */
  private answerSchedules(
    call: ServerDuplexStream<ScheduleTaskStreamRequest, ScheduleTaskStreamResponse>,
  ): void {
    this.calls.push('scheduleTaskStream');
    if (this.announceBatches) {
      const headers = new Metadata();
      headers.set(STREAM_BATCHES_HEADER, '1');
      call.sendMetadata(headers);
    }
    // Requests that arrive after the step-down go unanswered, as on a real leader.
    let steppedDown = false;
    const saved = (request: ScheduleTaskStreamRequest): ScheduleTaskStreamResponse => ({
      requestId: request.requestId,
      id: request.task?.id ?? '',
      code: status.OK,
      message: '',
      existing: false,
      more: [],
    });
    call.on('data', (request: ScheduleTaskStreamRequest) => {
      if (steppedDown) return;
      this.scheduleMessages.push(1 + request.more.length);
      if (request.task?.id === STEP_DOWN_ID) {
        steppedDown = true;
        call.emit('error', this.refusal(this.stepDownTo));
        return;
      }
      call.write({ ...saved(request), more: request.more.map(saved) });
    });
    call.on('end', () => call.end());
  }
}

/**
 * For a describe block: a function that starts fake leaders, each stopped after the test
 * that started it (registered first, so a block's own afterEach runs before the stop).
 */
export function useFakeLeaders(): (
  role: 'standby' | 'active',
  hint?: string,
) => Promise<FakeLeader> {
  const started: FakeLeader[] = [];
  afterEach(() => {
    for (const leader of started.splice(0)) leader.stop();
  });
  return async (role, hint) => {
    const leader = await FakeLeader.start(role, hint);
    started.push(leader);
    return leader;
  };
}

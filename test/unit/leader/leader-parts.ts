import pino from 'pino';
import { Assignment } from '../../../src/leader/assignment.js';
import { ClusterEvents } from '../../../src/leader/cluster-events.js';
import { CommitPipeline } from '../../../src/leader/commit-pipeline.js';
import { MemberFeed } from '../../../src/leader/member-feed.js';
import { MemberLifecycle } from '../../../src/leader/member-lifecycle.js';
import {
  MembershipRegistry,
  type MembershipTiming,
} from '../../../src/leader/membership/registry.js';
import { TaskCommands } from '../../../src/leader/task-commands.js';
import { DuePromotion } from '../../../src/leader/maintenance/due-promotion.js';
import type { HeartbeatInput, MemberView } from '../../../src/leader/views.js';
import { WorkChannels } from '../../../src/leader/work-channels.js';
import {
  DEFAULT_TASK_POLICY,
  type TaskPolicyDefaults,
} from '../../../src/scheduler/retry-policy.js';
import { Scheduler, type NewTask } from '../../../src/scheduler/scheduler.js';
import { TaskOutputLog } from '../../../src/scheduler/task-output.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import { UnavailableError } from '../../../src/shared/errors.js';
import { asMemberId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { GatedStore } from '../../helpers/gated-store.js';
import { ManualTimers } from '../../helpers/manual-timers.js';
import { RecordingChannel } from '../../helpers/recording-channel.js';

// The leader's units wired as the Coordinator wires them, over the real cores, with fakes
// only at the edges: a fake clock, manual timers, a gated store and a silent logger.

/** Suspect after 2 s and dead after 3 s of silence; quarantined after 3 failures in a row. */
export const TIMING: MembershipTiming = {
  suspectAfterMs: 2_000,
  deadAfterMs: 3_000,
  retentionMs: 60_000,
  quarantineAfterFailures: 3,
  quarantineMs: 30_000,
};

export interface PartsOptions {
  readonly timing?: Partial<MembershipTiming>;
  /** Retries go at once unless a test says otherwise. */
  readonly policy?: Partial<TaskPolicyDefaults>;
}

export interface WorkerSpec {
  readonly slots?: number;
  readonly kinds?: readonly string[];
  readonly commands?: readonly string[];
}

export type LeaderParts = ReturnType<typeof leaderParts>;
export type TestWorker = ReturnType<LeaderParts['worker']>;

export function leaderParts(options: PartsOptions = {}) {
  const clock = new FakeClock();
  const timers = new ManualTimers();
  const defer = (fn: () => void) => timers.defer(fn);
  const log = pino({ level: 'silent' });
  const store = new GatedStore();
  const events = new ClusterEvents();
  const output = new TaskOutputLog({ perTaskChars: 1024, totalChars: 4096 });
  const storeFailures: unknown[] = [];
  const onStoreFailure = (err: unknown) => storeFailures.push(err);
  const commits = new CommitPipeline({ store, events, output, onStoreFailure });
  const timing = { ...TIMING, ...options.timing };
  const policy = { ...DEFAULT_TASK_POLICY, retryBackoffMs: 0, ...options.policy };
  const lostAttemptGraceMs = timing.deadAfterMs; // as the coordinator sets it
  const scheduler = new Scheduler({ maxPayloadBytes: 1024, policy, lostAttemptGraceMs });
  const membership = new MembershipRegistry(timing);
  const channels = new WorkChannels(log);
  const feed: MemberFeed = new MemberFeed(events, defer, (): MemberView[] => members.views());
  const assignment = new Assignment({
    ...{ scheduler, commits, channels, feed, clock, log, defer },
    afterRound: () => due.refresh(),
  });
  let next = 0;
  const ids = { taskId: () => `t${++next}`, token: () => 'token', secret: () => `s${++next}` };
  const members: MemberLifecycle = new MemberLifecycle({
    ...{ membership, scheduler, channels, commits, assignment, feed, clock, ids, log, timing },
    heartbeatIntervalMs: 1_000,
  });
  const due: DuePromotion = new DuePromotion({ scheduler, commits, assignment, timers, clock });
  let stopping = false;
  const commands = new TaskCommands({
    ...{ scheduler, members, commits, assignment, channels, feed, clock, ids, log, due },
    assertRunning: () => {
      if (stopping) throw new UnavailableError('the leader is shutting down');
    },
  });

  /** Joins a worker, opens its stream and sends its first heartbeat: it is alive. */
  function worker(name: string, spec: WorkerSpec = {}) {
    const id = asMemberId(name);
    const { session } = members.join({
      id,
      address: '',
      instance: `${name}-1`,
      slots: spec.slots ?? 1,
      kinds: new Set(spec.kinds ?? ['default']),
      allowedCommands: new Set(spec.commands ?? []),
    });
    const channel = new RecordingChannel();
    const streamId = members.openStream(id, session, channel);
    const beat = (input: Partial<HeartbeatInput> = {}, first = false) =>
      members.heartbeat(
        id,
        streamId,
        { status: 'idle', draining: false, running: [], ...input },
        first,
      );
    beat({}, true);
    return { id, channel, streamId, session, beat };
  }

  /** Puts tasks in the queue and saves them, with no assignment round. */
  async function enqueue(...specs: Partial<NewTask>[]): Promise<TaskRecord[]> {
    const withIds = specs.map((spec) => ({ id: ids.taskId(), payload: 'p', ...spec }));
    const { tasks, changed } = scheduler.scheduleMany(clock.nowMs(), withIds);
    await commits.save(changed);
    return tasks;
  }

  /** The stored copy of a task, if the store holds it. */
  async function stored(id: string): Promise<TaskRecord | undefined> {
    return (await store.saved()).find((task) => task.id === id);
  }

  return {
    ...{ clock, timers, log, store, events, output, commits, storeFailures, scheduler },
    ...{ membership, channels, feed, assignment, members, commands, ids, timing, due },
    ...{ worker, enqueue, stored },
    /** assertRunning throws from now on, as in a leader shutting down. */
    shutDown: () => {
      stopping = true;
    },
    state: (name: string) => membership.get(asMemberId(name))?.state,
  };
}

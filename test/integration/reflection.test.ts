import { describe, expect, it } from 'vitest';
import { BufReflectionClient } from '../strict-clients/buf-reflection-client.js';
import { useCluster } from '../helpers/use-cluster.js';
import { py, pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';

// Strict clients only: each links the served descriptors exactly as grpcurl does (an import
// that was not sent, or a reference that does not resolve, is an error), and each shares no
// code with drover. grpc_reflect.py runs on Debian's python3-grpcio + python3-protobuf (a
// C++ descriptor pool); BufReflectionClient links with @bufbuild/protobuf.

/** One strict client, driven with go-work's README commands. */
interface StrictClient {
  list(address: string): Promise<string[]>;
  describeMethods(address: string, service: string): Promise<string[]>;
  call(address: string, method: string, json?: string): Promise<unknown>;
}

function bufClient(version: 'v1' | 'v1alpha'): StrictClient {
  const use = async <T>(address: string, fn: (c: BufReflectionClient) => Promise<T>) => {
    const client = new BufReflectionClient(address, version);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };
  return {
    list: (address) => use(address, (c) => c.listServices()),
    describeMethods: (address, service) =>
      use(address, async (c) => {
        const found = await c.find(service);
        if (found.kind !== 'service') throw new Error(`${service} is a ${found.kind}`);
        return found.methods.map((m) => m.name);
      }),
    call: (address, method, json) => use(address, (c) => c.invoke(method, json)),
  };
}

function pythonClient(version: 'v1' | 'v1alpha'): StrictClient {
  const base = ['--reflection', version];
  return {
    // `-plaintext` as in go-work's commands; `list` prints one name a line, as grpcurl does.
    list: async (address) => {
      const run = await py(['-plaintext', ...base, address, 'list']);
      if (run.code !== 0) throw new Error(`grpc_reflect.py list: ${run.stderr}`);
      return run.stdout.trim().split('\n');
    },
    describeMethods: async (address, service) => {
      const d = (await pyJson([...base, address, 'describe', service])) as {
        methods: { name: string }[];
      };
      return d.methods.map((m) => m.name);
    },
    call: (address, method, json) =>
      pyJson([...base, ...(json === undefined ? [] : ['-d', json]), address, method]),
  };
}

const LEADER_METHODS = [
  'Drain',
  'Heartbeat',
  'Join',
  'Leaders',
  'Leave',
  'Members',
  'Undrain',
  'WatchMembers',
];
const SCHEDULER_METHODS = [
  'AddCronSchedule',
  'CancelTask',
  'DeleteTask',
  'GetTask',
  'GetTaskOutput',
  'GetTasks',
  'ListCronSchedules',
  'ListLimits',
  'ListPauses',
  'Pause',
  'PauseCronSchedule',
  'RemoveCronSchedule',
  'RemoveLimit',
  'Resume',
  'ResumeCronSchedule',
  'RetryFailedTasks',
  'RetryTask',
  'ScheduleTask',
  'ScheduleTaskStream',
  'ScheduleTasks',
  'SetLimit',
  'TaskComplete',
  'WatchTasks',
];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const CLIENTS = [
  { name: 'bufbuild', version: 'v1', make: bufClient, skip: false },
  { name: 'bufbuild', version: 'v1alpha', make: bufClient, skip: false },
  { name: 'python', version: 'v1', make: pythonClient, skip: skipPython },
  { name: 'python', version: 'v1alpha', make: pythonClient, skip: skipPython },
] as const;

describe('strict reflection clients', () => {
  const { cluster } = useCluster();

  /** A leader on two ports (go-work's :50051 and :50052) and one worker, w1. */
  async function twoPortLeader(): Promise<{ leaderPort: string; schedulerPort: string }> {
    const leader = cluster().spawn('leader', [
      'leader',
      '--store',
      'memory',
      '--no-http',
      '--listen',
      '127.0.0.1:0',
      '--listen',
      '127.0.0.1:0',
    ]);
    const line = await leader.waitForLine((l) => l.msg === 'leader listening');
    const [leaderPort, schedulerPort] = line['addresses'] as [string, string];
    // The demo task works until cancelled, so CancelTask finds it running.
    await cluster().startWorker(leaderPort, 'w1', ['--demo-default-ms', '600000']);
    return { leaderPort, schedulerPort };
  }

  it.for(CLIENTS)(
    "$name client, reflection $version: go-work's six README commands",
    async ({ make, version, skip }, ctx) => {
      if (skip) ctx.skip(pythonClientMissing);
      const client = make(version);
      const { leaderPort, schedulerPort } = await twoPortLeader();

      expect(await client.list(leaderPort)).toEqual(
        expect.arrayContaining([
          'cluster.v1.LeaderService',
          'scheduler.v1.SchedulerService',
          'grpc.health.v1.Health',
        ]),
      );
      // grpcurl -plaintext :50051 describe cluster.v1.LeaderService
      expect((await client.describeMethods(leaderPort, 'cluster.v1.LeaderService')).sort()).toEqual(
        LEADER_METHODS,
      );
      // grpcurl -plaintext :50052 describe scheduler.v1.SchedulerService
      expect(
        (await client.describeMethods(schedulerPort, 'scheduler.v1.SchedulerService')).sort(),
      ).toEqual(SCHEDULER_METHODS);
      // grpcurl -plaintext :50051 cluster.v1.LeaderService.Members
      const members = (await client.call(leaderPort, 'cluster.v1.LeaderService.Members')) as {
        members: Record<string, unknown>[];
      };
      expect(members.members).toEqual([
        expect.objectContaining({
          id: 'w1',
          status: 'alive',
          slotsTotal: 4,
          slotsFree: 4,
          // Enum names, and int64 as a JSON string, as grpcurl prints them.
          reportedStatus: 'HEARTBEAT_STATUS_IDLE',
          lastHeartbeatAgeMs: expect.stringMatching(/^\d+$/),
        }),
      ]);
      // grpcurl -plaintext :50052 scheduler.v1.SchedulerService.GetTasks (nothing yet: `{}`)
      expect(await client.call(schedulerPort, 'scheduler.v1.SchedulerService.GetTasks')).toEqual(
        {},
      );
      // grpcurl -plaintext -d '{"task": {"id":"1","payload":"do some work"}}' :50052 ...ScheduleTask
      expect(
        await client.call(
          schedulerPort,
          'scheduler.v1.SchedulerService.ScheduleTask',
          '{"task": {"id":"1","payload":"do some work"}}',
        ),
      ).toEqual({ id: '1' });
      const listed = (await client.call(
        schedulerPort,
        'scheduler.v1.SchedulerService.GetTasks',
      )) as { tasks: Record<string, unknown>[] };
      expect(listed.tasks).toEqual([
        expect.objectContaining({
          id: '1',
          payload: 'do some work',
          priority: 'TASK_PRIORITY_MEDIUM',
          createdAt: expect.stringMatching(RFC3339),
        }),
      ]);
      // grpcurl -plaintext -d '{"id":"1"}' :50052 scheduler.v1.SchedulerService.CancelTask
      const cancelled = (await client.call(
        schedulerPort,
        'scheduler.v1.SchedulerService.CancelTask',
        '{"id":"1"}',
      )) as { task: Record<string, unknown> };
      expect(cancelled.task).toMatchObject({
        id: '1',
        status: 'TASK_STATUS_CANCELLED',
        maxAttempts: 3,
        retryBackoffMs: 1000,
        createdAt: expect.stringMatching(RFC3339),
        finishedAt: expect.stringMatching(RFC3339),
      });
      // snake_case on the wire appears nowhere in proto JSON, as in grpcurl's output.
      expect(Object.keys(cancelled.task).filter((k) => k.includes('_'))).toEqual([]);
    },
  );

  it.for(CLIENTS)(
    '$name client, reflection $version: health on every port, clear errors',
    async ({ make, version, skip }, ctx) => {
      if (skip) ctx.skip(pythonClientMissing);
      const client = make(version);
      const { leaderPort, schedulerPort } = await twoPortLeader();
      for (const address of [leaderPort, schedulerPort]) {
        for (const service of ['', 'cluster.v1.LeaderService', 'scheduler.v1.SchedulerService']) {
          expect(
            await client.call(address, 'grpc.health.v1.Health.Check', JSON.stringify({ service })),
          ).toEqual({ status: 'SERVING' });
        }
      }
      await expect(client.describeMethods(leaderPort, 'nope.v1.Nothing')).rejects.toThrow(
        /Symbol not found: nope.v1.Nothing/,
      );
      // A field the message does not have is refused by the client, as grpcurl does.
      await expect(
        client.call(schedulerPort, 'scheduler.v1.SchedulerService.CancelTask', '{"nope":1}'),
      ).rejects.toThrow(/nope/);
    },
  );

  it('both clients link the same files and describe every message alike', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { leaderPort } = await twoPortLeader();

    const buf = new BufReflectionClient(leaderPort, 'v1');
    const services = await buf.listServices();
    for (const service of services) await buf.resolve(service);
    const registry = buf.registry();
    buf.close();
    const bufFiles = [...registry.files].map((f) => f.proto.name).sort();
    // Real file names and their imports, not proto-loader's invented ones.
    expect(bufFiles).toEqual([
      'cluster/v1/leader.proto',
      'google/protobuf/timestamp.proto',
      'grpc/health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
      'scheduler/v1/scheduler.proto',
      'worker/v1/worker.proto',
    ]);
    const bufMessages = new Map<string, { name: string; jsonName: string }[]>();
    for (const file of registry.files) {
      const walk = (messages: typeof file.messages): void => {
        for (const m of messages) {
          bufMessages.set(
            m.typeName,
            m.fields.map((f) => ({ name: f.name, jsonName: f.jsonName })),
          );
          walk(m.nestedMessages);
        }
      };
      walk(file.messages);
    }

    const described = (await pyJson([leaderPort, 'describe'])) as {
      message?: string;
      file?: string;
      fields?: { name: string; jsonName: string }[];
    }[];
    const pyFiles = [...new Set(described.map((d) => d.file))].sort();
    expect(pyFiles).toEqual(bufFiles);
    const pyMessages = new Map(
      described
        .filter((d) => d.message !== undefined)
        .map((d) => [d.message!, d.fields!.map((f) => ({ name: f.name, jsonName: f.jsonName }))]),
    );
    expect(new Map([...pyMessages].sort())).toEqual(new Map([...bufMessages].sort()));
    expect(pyMessages.get('cluster.v1.Member')).toContainEqual({
      name: 'quarantined_until',
      jsonName: 'quarantinedUntil',
    });
    expect(pyMessages.has('google.protobuf.Timestamp')).toBe(true);
  });
});

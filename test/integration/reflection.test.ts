import {
  credentials,
  Metadata,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/use-cluster.js';

type JsonCall = (
  request: object,
  md: Metadata,
  opts: object,
  cb: (err: Error | null, res: unknown) => void,
) => void;

/**
 * A client built only from what reflection returned (no compiled-in protos), called with
 * proto JSON: what grpcurl does with `-d '{...}'`.
 */
async function reflectedClient(
  address: string,
  version: 'v1' | 'v1alpha',
  service: string,
): Promise<Client> {
  const reflection = new GrpcReflection(address, credentials.createInsecure(), {}, version);
  const descriptor = await reflection.getDescriptorBySymbol(service);
  const pkg = descriptor.getPackageObject({
    keepCase: false,
    enums: String,
    longs: String,
    defaults: true,
  });
  let node: unknown = pkg;
  for (const part of service.split('.')) node = (node as GrpcObject)[part];
  const Ctor = node as ServiceClientConstructor;
  return new Ctor(address, credentials.createInsecure());
}

function invoke(client: Client, method: string, request: object): Promise<unknown> {
  const fn = (client as unknown as Record<string, JsonCall>)[method]!;
  return new Promise((resolve, reject) => {
    fn.call(
      client,
      request,
      new Metadata(),
      { deadline: new Date(Date.now() + 5000) },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

describe('server reflection and health, as grpcurl uses them', () => {
  const { cluster } = useCluster();

  it.each(['v1', 'v1alpha'] as const)(
    'lists and describes both services over reflection %s',
    async (version) => {
      const { address } = await cluster().startLeader();
      const reflection = new GrpcReflection(address, credentials.createInsecure(), {}, version);
      const services = await reflection.listServices();
      expect(services).toEqual(
        expect.arrayContaining([
          'cluster.v1.LeaderService',
          'scheduler.v1.SchedulerService',
          'grpc.health.v1.Health',
        ]),
      );
      const leaderMethods = (await reflection.listMethods('cluster.v1.LeaderService')).map(
        (m) => m.name,
      );
      expect(leaderMethods.sort()).toEqual([
        'Drain',
        'Heartbeat',
        'Join',
        'Leave',
        'Members',
        'WatchMembers',
      ]);
      const schedulerMethods = (await reflection.listMethods('scheduler.v1.SchedulerService')).map(
        (m) => m.name,
      );
      expect(schedulerMethods.sort()).toEqual([
        'CancelTask',
        'DeleteTask',
        'GetTask',
        'GetTaskOutput',
        'GetTasks',
        'ScheduleTask',
        'ScheduleTaskStream',
        'ScheduleTasks',
        'TaskComplete',
        'WatchTasks',
      ]);
    },
  );

  it("answers go-work's README commands with messages built only from reflection", async () => {
    const { address: first } = await cluster().startLeader();
    const scheduler = await reflectedClient(first, 'v1', 'scheduler.v1.SchedulerService');
    await cluster().startWorker(first, 'w1');

    // grpcurl -d '{"task": {"id":"1","payload":"do some work"}}' :50052 scheduler.v1.SchedulerService.ScheduleTask
    expect(
      await invoke(scheduler, 'ScheduleTask', { task: { id: '1', payload: 'do some work' } }),
    ).toEqual({ id: '1' });
    // grpcurl :50052 scheduler.v1.SchedulerService.GetTasks
    const listed = (await invoke(scheduler, 'GetTasks', {})) as {
      tasks: { id: string; payload: string; status: string }[];
    };
    expect(listed.tasks).toHaveLength(1);
    expect(listed.tasks[0]).toMatchObject({
      id: '1',
      payload: 'do some work',
      priority: 'TASK_PRIORITY_MEDIUM',
    });
    // grpcurl -d '{"id":"1"}' :50052 scheduler.v1.SchedulerService.CancelTask
    const cancelled = (await invoke(scheduler, 'CancelTask', { id: '1' })) as {
      task: { status: string };
    };
    expect(cancelled.task.status).toBe('TASK_STATUS_CANCELLED');

    // grpcurl :50051 cluster.v1.LeaderService.Members
    const leaderClient = await reflectedClient(first, 'v1alpha', 'cluster.v1.LeaderService');
    const members = (await invoke(leaderClient, 'Members', {})) as {
      members: { id: string; status: string }[];
    };
    expect(members.members).toEqual([expect.objectContaining({ id: 'w1', status: 'alive' })]);
    scheduler.close();
    leaderClient.close();
  });

  it('serves every service on every --listen address', async () => {
    const leader = cluster().spawn('leader', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--listen',
      '127.0.0.1:0',
    ]);
    const line = await leader.waitForLine((l) => l.msg === 'leader listening');
    const addresses = line['addresses'] as string[];
    expect(addresses).toHaveLength(2);
    for (const address of addresses) {
      const reflection = new GrpcReflection(address, credentials.createInsecure(), {}, 'v1');
      expect(await reflection.listServices()).toEqual(
        expect.arrayContaining(['cluster.v1.LeaderService', 'scheduler.v1.SchedulerService']),
      );
      const members = await reflectedClient(address, 'v1', 'cluster.v1.LeaderService');
      expect(await invoke(members, 'Members', {})).toEqual({ members: [] });
      members.close();
    }
  });

  it('reports SERVING on grpc.health.v1 for the server and both services', async () => {
    const { address } = await cluster().startLeader();
    const health = await reflectedClient(address, 'v1', 'grpc.health.v1.Health');
    for (const service of ['', 'cluster.v1.LeaderService', 'scheduler.v1.SchedulerService']) {
      expect(await invoke(health, 'Check', { service })).toEqual({ status: 'SERVING' });
    }
    await expect(invoke(health, 'Check', { service: 'nope.v1.Nothing' })).rejects.toMatchObject({
      code: 5,
    });
    health.close();
  });
});

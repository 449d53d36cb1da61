import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { taskDraft } from '../../src/client/task-draft.js';
import { waitFor } from './wait-for.js';
import { LeaderServiceClient, type Member } from '../../src/gen/cluster/v1/leader.js';
import {
  SchedulerServiceClient,
  TaskStatus,
  type Task,
} from '../../src/gen/scheduler/v1/scheduler.js';

type Callback<Res> = (err: ServiceError | null, response: Res) => void;
type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: Callback<Res>,
) => unknown;

/** Typed, promise-returning clients for both services, for tests. */
export class TestClients {
  readonly leader: LeaderServiceClient;
  readonly scheduler: SchedulerServiceClient;

  constructor(address: string) {
    this.leader = new LeaderServiceClient(address, credentials.createInsecure());
    this.scheduler = new SchedulerServiceClient(address, credentials.createInsecure());
  }

  call<Req, Res>(
    client: LeaderServiceClient | SchedulerServiceClient,
    method: Unary<Req, Res>,
    request: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(
        client,
        request,
        new Metadata(),
        { deadline: new Date(Date.now() + 5000) },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  schedule(task: Partial<Task> & { payload: string }): Promise<string> {
    return this.call(this.scheduler, this.scheduler.scheduleTask, {
      task: taskDraft(task),
    }).then((r) => r.id);
  }

  /** Schedules several tasks in one ScheduleTasks call; resolves with their ids. */
  scheduleMany(tasks: (Partial<Task> & { payload: string })[]): Promise<string[]> {
    return this.call(this.scheduler, this.scheduler.scheduleTasks, {
      tasks: tasks.map((task) => taskDraft(task)),
    }).then((r) => r.ids);
  }

  async task(id: string): Promise<Task> {
    const { task } = await this.call(this.scheduler, this.scheduler.getTask, { id });
    return task!;
  }

  /** Every task (in this status), following page tokens to the last page. */
  async tasks(status = TaskStatus.TASK_STATUS_UNSPECIFIED): Promise<Task[]> {
    const all: Task[] = [];
    let pageToken = '';
    // Bounded: a test holds far fewer than 1,000 pages of tasks.
    for (let page = 0; page < 1000; page++) {
      const response = await this.call(this.scheduler, this.scheduler.getTasks, {
        status,
        memberId: '',
        kind: '',
        newestFirst: false,
        pageSize: 1000,
        pageToken,
      });
      all.push(...response.tasks);
      pageToken = response.nextPageToken;
      if (pageToken === '') return all;
    }
    throw new Error('more than 1,000 pages of tasks');
  }

  cancel(id: string): Promise<Task | undefined> {
    return this.call(this.scheduler, this.scheduler.cancelTask, { id }).then((r) => r.task);
  }

  complete(
    id: string,
    attempt: number,
    memberId: string,
    result?: string,
  ): Promise<Task | undefined> {
    return this.call(this.scheduler, this.scheduler.taskComplete, {
      id,
      attempt,
      memberId,
      result,
      permanent: false,
    }).then((r) => r.task);
  }

  async members(): Promise<Member[]> {
    const { members } = await this.call(this.leader, this.leader.members, {});
    return members;
  }

  async member(id: string): Promise<Member | undefined> {
    return (await this.members()).find((m) => m.id === id);
  }

  /** Every task, once none is pending or running; polls until then (throws after timeoutMs). */
  whenAllFinished(what: string, timeoutMs = 30_000): Promise<Task[]> {
    return waitFor(
      async () => {
        const tasks = await this.tasks();
        const open = tasks.filter(
          (t) =>
            t.status === TaskStatus.TASK_STATUS_PENDING ||
            t.status === TaskStatus.TASK_STATUS_RUNNING,
        );
        return open.length === 0 && tasks;
      },
      { timeoutMs, what },
    );
  }

  close(): void {
    this.leader.close();
    this.scheduler.close();
  }
}

/** Resolves with the gRPC error a promise rejected with; fails if it resolved. */
export async function grpcError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export { TaskStatus };

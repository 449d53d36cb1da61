import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ScheduleTaskStreamRequest } from '../../src/gen/scheduler/v1/scheduler.js';
import { createProducer } from '../../src/client/producer.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { py, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

/** Proto JSON messages printed one after another (as grpcurl prints a stream). */
function jsonMessages(text: string): unknown[] {
  const trimmed = text.trim();
  return trimmed === ''
    ? []
    : (JSON.parse(`[${trimmed.replace(/\n\}\n\{/g, '\n},\n{')}]`) as unknown[]);
}

// Several tasks in one ScheduleTaskStream message (`more`): what the SDK producer sends
// once the leader says it takes them. Checked with the strict Python client, which shares
// no code with drover, and with the producer against a real leader and worker.

/**
 * Sends `messages` (raw bytes) on one ScheduleTaskStream over a plain grpc-js client with no
 * drover code in its (de)serializers, and resolves with how the stream ended.
 */
function rawStream(address: string, messages: Buffer[]): Promise<ServiceError> {
  const client = new Client(address, credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    '/scheduler.v1.SchedulerService/ScheduleTaskStream',
    (bytes: Buffer) => bytes,
    (bytes: Buffer) => bytes,
    new Metadata(),
  );
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (err: ServiceError) => {
      client.close();
      resolve(err);
    });
    for (const message of messages) call.write(message);
  });
}

describe('ScheduleTaskStream messages with more than one task', () => {
  const { cluster, clients } = useCluster();

  it('ends the stream with INVALID_ARGUMENT for a message over 10,000 in `more` or one that cannot be read, scheduling none of it', async () => {
    const { address } = await cluster().startLeader();
    const task = (n: number) => ({ requestId: n, task: { id: `x${n}`, payload: '1' } });
    const oversized = ScheduleTaskStreamRequest.encode(
      ScheduleTaskStreamRequest.fromPartial({
        ...task(0),
        more: Array.from({ length: 10_001 }, (_, i) => task(i + 1)),
      }),
    ).finish();
    const tooMany = await rawStream(address, [Buffer.from(oversized)]);
    expect(tooMany.code).toBe(status.INVALID_ARGUMENT);
    expect(tooMany.details).toBe(
      'a message carries at most 10000 tasks in `more` (this one 10001); send them in several messages',
    );
    // A field 2 (task) whose length runs past the message's end.
    const garbled = await rawStream(address, [Buffer.from([0x12, 0x7f, 0x01])]);
    expect(garbled.code).toBe(status.INVALID_ARGUMENT);
    expect(garbled.details).toMatch(
      /^the request to \/scheduler\.v1\.SchedulerService\/ScheduleTaskStream is not a valid protobuf message/,
    );
    expect(await clients(address).tasks()).toEqual([]);
  });

  it('answers each task of a message as if alone, in order, over a strict client', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const first = {
      requestId: '1',
      task: { id: 'a', payload: '1' },
      more: [
        { requestId: '2', task: { id: 'b', payload: '2' } },
        { requestId: '3', task: { id: 'a', payload: 'again' } },
        { requestId: '4', task: { id: 'c', payload: '' } },
        {
          requestId: '5',
          task: { id: 'd', payload: '4' },
          more: [{ requestId: '6', task: { id: 'e', payload: '5' } }],
        },
        { requestId: '7', task: { id: 'f', payload: '6' } },
      ],
    };
    const second = { requestId: '8', task: { id: 'g', payload: '7' } };
    const run = await py([
      '-v',
      '-d',
      `${JSON.stringify(first)}\n${JSON.stringify(second)}`,
      address,
      'scheduler.v1.SchedulerService/ScheduleTaskStream',
    ]);
    expect(run.stderr).toContain('drover-stream-batches: 1');
    expect(run.code).toBe(0);
    // Answers may come in any order (a lone task's can overtake a batch's): by request id.
    const answers = jsonMessages(run.stdout) as { requestId: string }[];
    answers.sort((x, y) => Number(x.requestId) - Number(y.requestId));
    expect(answers).toEqual([
      {
        requestId: '1',
        id: 'a',
        more: [
          { requestId: '2', id: 'b' },
          { requestId: '3', code: 6, message: 'task a already exists' },
          { requestId: '4', code: 3, message: 'task payload must not be empty' },
          {
            requestId: '5',
            code: 3,
            message: 'a task in `more` must not carry `more` of its own',
          },
          { requestId: '7', id: 'f' },
        ],
      },
      { requestId: '8', id: 'g' },
    ]);
    // Only the accepted ones exist, in the order they came: FIFO holds across a message.
    expect((await clients(address).tasks()).map((t) => t.id)).toEqual(['a', 'b', 'f', 'g']);
  });

  it('the SDK producer: a burst goes out batched, each task saved and run once, in order', async () => {
    const { address } = await cluster().startLeader();
    const api = clients(address);
    const producer = createProducer({ leader: address });
    try {
      // The stream's headers come with the first answer; the bursts after it are batched.
      // (That the producer batches once it sees the header is checked message by message in
      // test/unit/client/producer.test.ts, on a real grpc-js server; that this leader sends
      // the header, by the strict Python client above. Here: the result is the same.)
      await producer.schedule({ id: 'first', payload: '1' });
      const ids: string[] = [];
      for (let round = 0; round < 3; round++) {
        const burst = Array.from({ length: 700 }, (_, i) => `r${round}-${i}`);
        ids.push(
          ...(await Promise.all(burst.map((id) => producer.schedule({ id, payload: '1' })))),
        );
      }
      expect(ids).toHaveLength(2_100);
      // Queued with no worker: the leader's order is the order they were asked in.
      expect((await api.tasks()).map((t) => t.id)).toEqual(['first', ...ids]);
      await cluster().startWorker(address, 'w1', ['--slots', '8']);
      await waitFor(
        async () =>
          (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 2_101 || undefined,
        { timeoutMs: 30_000, what: '2,101 tasks completed' },
      );
      expect((await api.tasks()).every((t) => t.attempt === 1)).toBe(true);
    } finally {
      await producer.close();
    }
  });
});

import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditLog, REFUSALS_LOGGED_PER_SECOND } from '../../../../src/leader/auth/audit-log.js';

/** An audit log writing JSON lines into an array, on a clock the test moves. */
function recorded() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const clock = { ms: 1_000_000 };
  const audit = new AuditLog(pino({ level: 'info' }, sink), () => clock.ms);
  // pino writes synchronously to a Writable only through its stream; flush by a tick.
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  return { lines, clock, audit, settled };
}

describe('AuditLog', () => {
  it('names who changed the cluster, never for reads or schedules', async () => {
    const { lines, audit, settled } = recorded();
    audit.admitted('ops', 'admin', '/cluster.v1.LeaderService/Drain', 'ipv4:127.0.0.1:5');
    audit.admitted('ci', 'write', '/scheduler.v1.SchedulerService/CancelTask', 'p');
    audit.admitted('ci', 'write', 'DELETE /v1/tasks/:id', '127.0.0.1', '/v1/tasks/t1');
    // Not audited: reads, schedules (many per second), worker calls, public ones.
    audit.admitted('ci', 'write', '/scheduler.v1.SchedulerService/ScheduleTask', 'p');
    audit.admitted('ci', 'write', '/scheduler.v1.SchedulerService/ScheduleTaskStream', 'p');
    audit.admitted('ci', 'write', 'POST /v1/tasks', 'p', '/v1/tasks');
    audit.admitted('ci', 'write', 'POST /start-job', 'p', '/start-job');
    audit.admitted('viewer', 'read', '/scheduler.v1.SchedulerService/GetTasks', 'p');
    audit.admitted('worker-1', 'worker', '/cluster.v1.LeaderService/Join', 'p');
    await settled();
    expect(lines.map((l) => [l['msg'], l['who'], l['action'], l['url']])).toEqual([
      ['call admitted', 'ops', '/cluster.v1.LeaderService/Drain', undefined],
      ['call admitted', 'ci', '/scheduler.v1.SchedulerService/CancelTask', undefined],
      ['call admitted', 'ci', 'DELETE /v1/tasks/:id', '/v1/tasks/t1'],
    ]);
  });

  it('logs refusals, at most so many a second, and tells how many it held back', async () => {
    const { lines, clock, audit, settled } = recorded();
    for (let i = 0; i < REFUSALS_LOGGED_PER_SECOND + 25; i++) {
      audit.refused('/scheduler.v1.SchedulerService/GetTasks', 'p', 'no token');
      clock.ms += 10; // 35 refusals in 350 ms
    }
    await settled();
    expect(lines.filter((l) => l['msg'] === 'call refused')).toHaveLength(
      REFUSALS_LOGGED_PER_SECOND,
    );
    // The next call once the second is over, admitted or not, tells the count.
    clock.ms += 1000;
    audit.admitted('viewer', 'read', '/scheduler.v1.SchedulerService/GetTasks', 'p');
    await settled();
    expect(lines.at(-1)).toMatchObject({
      msg: 'more calls were refused than logged one by one',
      count: 25,
    });
    audit.refused('GET /v1/tasks', 'p', 'no token');
    await settled();
    expect(lines.at(-1)).toMatchObject({ msg: 'call refused', action: 'GET /v1/tasks' });
  });
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createProducer } from '../../src/client/producer.js';
import { drover } from '../helpers/cli-run.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// GET /metrics (issue #19) on real processes, read by the Prometheus Python client's own
// parser (test/strict-clients/prom_parse.py, Debian's python3-prometheus-client).

const PARSER = fileURLToPath(new URL('../strict-clients/prom_parse.py', import.meta.url));

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  type: string;
}

function parse(text: string): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', [PARSER], { timeout: 20_000 }, (err, out, errOut) =>
      err ? reject(new Error(`prom_parse.py: ${errOut || err.message}`)) : resolve(JSON.parse(out)),
    );
    child.stdin!.end(text);
  });
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

describe('Prometheus metrics', () => {
  const { cluster, clients } = useCluster();

  it('counts tasks by kind and status, queue depth and members, in the text format a Prometheus parser reads', async () => {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    const api = clients(address);
    for (let i = 0; i < 3; i++) await api.schedule({ id: `ok${i}`, payload: '1' });
    await api.schedule({ id: 'later', payload: '1', delayMs: 3_600_000 });
    await drover(
      'schedule',
      '--leader',
      address,
      '--kind',
      'default',
      '--id',
      'gone',
      '--in',
      '1h',
      '1',
    );
    await drover('cancel', '--leader', address, 'gone');
    await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 3, {
      timeoutMs: 10_000,
      what: 'three tasks completed',
    });
    const response = await fetch(`${http}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = await parse(await response.text());
    expect(value(samples, 'drover_tasks_scheduled_total', { kind: 'default' })).toBe(5);
    expect(value(samples, 'drover_task_attempts_started_total', { kind: 'default' })).toBe(3);
    expect(
      value(samples, 'drover_tasks_finished_total', { kind: 'default', status: 'completed' }),
    ).toBe(3);
    expect(
      value(samples, 'drover_tasks_finished_total', { kind: 'default', status: 'cancelled' }),
    ).toBe(1);
    expect(value(samples, 'drover_task_schedule_to_start_seconds_count', { kind: 'default' })).toBe(
      3,
    );
    expect(value(samples, 'drover_tasks', { status: 'scheduled' })).toBe(1);
    expect(value(samples, 'drover_tasks', { status: 'completed' })).toBe(3);
    expect(value(samples, 'drover_queue_depth', { priority: 'medium' })).toBe(0);
    expect(value(samples, 'drover_members', { state: 'alive' })).toBe(1);
    expect(value(samples, 'drover_slots_total')).toBe(2);
    expect(value(samples, 'drover_slots_free')).toBe(2);
    expect(value(samples, 'drover_store_commit_seconds_count')).toBeGreaterThan(0);
    expect(value(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // Bounded cardinality: no label holds a task id.
    for (const sample of samples) {
      for (const label of Object.values(sample.labels))
        expect(label).not.toMatch(/^ok\d|later|gone/);
    }
  });

  it('times each group commit once: a burst of schedules in one turn is one commit, not one per task', async () => {
    const { address, http } = await cluster().startLeader();
    const producer = createProducer({ leader: address });
    try {
      await producer.schedule({ id: 'first', payload: '1' });
      const before = await parse(await (await fetch(`${http}/metrics`)).text());
      // The producer sends these 500 in one message; the leader saves them in one turn.
      await Promise.all(
        Array.from({ length: 500 }, (_, i) => producer.schedule({ id: `b${i}`, payload: '1' })),
      );
      const after = await parse(await (await fetch(`${http}/metrics`)).text());
      const grew = (name: string) => value(after, name)! - value(before, name)!;
      expect(grew('drover_store_commit_tasks_sum')).toBe(500);
      expect(grew('drover_store_commit_tasks_count')).toBeLessThanOrEqual(5);
      expect(grew('drover_store_commit_seconds_count')).toBe(
        grew('drover_store_commit_tasks_count'),
      );
      // Commit time is time spent committing: never more than the leader has been up.
      const uptime = Date.now() / 1000 - value(after, 'process_start_time_seconds')!;
      expect(value(after, 'drover_store_commit_seconds_sum')).toBeLessThan(uptime);
    } finally {
      await producer.close();
    }
  });

  it("serves a worker's own metrics on --metrics-listen, refuses a remote address without the flag", async () => {
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w1', [
      '--slots',
      '3',
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    const line = await worker.waitForLine((l) => l.msg === 'metrics listening');
    const api = clients(address);
    await api.schedule({ id: 'w-ok', payload: '1' });
    await waitFor(
      async () => (await api.task('w-ok')).status === TaskStatus.TASK_STATUS_COMPLETED,
      {
        timeoutMs: 5_000,
        what: 'w-ok completed',
      },
    );
    const samples = await parse(
      await (await fetch(`http://${String(line['address'])}/metrics`)).text(),
    );
    expect(value(samples, 'drover_worker_attempts_started_total', { kind: 'default' })).toBe(1);
    expect(
      value(samples, 'drover_worker_attempts_ended_total', {
        kind: 'default',
        outcome: 'completed',
      }),
    ).toBe(1);
    expect(value(samples, 'drover_worker_slots')).toBe(3);
    expect(value(samples, 'drover_worker_running')).toBe(0);
    const notFound = await fetch(`http://${String(line['address'])}/other`);
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe(
      'not found: GET /other; this server has GET /metrics only\n',
    );
    const refused = await drover('worker', '--leader', address, '--metrics-listen', '0.0.0.0:0');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--metrics-listen 0\.0\.0\.0:0 is not a loopback address/);
    // A port already taken stops the worker at once with one line saying so.
    const taken = String(line['address']);
    const busy = await drover('worker', '--leader', address, '--metrics-listen', taken);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(
      `drover: cannot listen for metrics on ${taken}: the address is already in use\n`,
    );
  });
});

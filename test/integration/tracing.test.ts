import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// OpenTelemetry traces (issue #19) on real processes: a leader, an SDK worker and an SDK
// producer export OTLP/JSON over HTTP to a collector this test runs in memory, and one
// trace links the caller's span to the handler's own span through the leader and the
// heartbeat stream. Callers: the SDK producer, the strict Python gRPC client with
// `traceparent` metadata, and plain HTTP with a `traceparent` header.

const TRACED_SDK = fileURLToPath(new URL('../fixtures/traced-sdk.mjs', import.meta.url));

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  resource: Record<string, unknown>;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
}

/** An OTLP/HTTP collector that keeps every span it is sent (JSON encoding). */
class MemoryCollector {
  readonly spans: Span[] = [];
  private server: Server | undefined;
  private bodies = 0;

  async start(): Promise<string> {
    this.spans.length = 0;
    this.bodies = 0;
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        expect(request.url).toBe('/v1/traces');
        expect(request.headers['content-type']).toBe('application/json');
        this.take(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        this.bodies++;
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get requests(): number {
    return this.bodies;
  }

  stop(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }

  /** Whether `traceId` has a span of each name (processes export on their own schedule). */
  complete(traceId: string, names: readonly string[]): boolean {
    const seen = new Set(this.trace(traceId).map((span) => span.name));
    return names.every((name) => seen.has(name));
  }

  trace(traceId: string): Span[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  private take(body: OtlpBody): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      const service = resource['service.name'] as string;
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            service,
            resource,
            attributes: attributes(span.attributes),
            status: span.status ?? {},
          });
        }
      }
    }
  }
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean };
}

interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : value.boolValue);
  }
  return out;
}

/** The spans every traced task has, from the leader and the worker. */
const TASK_SPANS = [
  'drover.schedule',
  'drover.queue_wait',
  'drover.assign',
  'drover.run',
  'drover.complete',
];

/** The one span of `trace` named `name` (and for `taskId`, if given). */
function one(spans: Span[], name: string, taskId?: string): Span {
  const found = spans.filter(
    (span) =>
      span.name === name && (taskId === undefined || span.attributes['drover.task.id'] === taskId),
  );
  expect(found, `spans named ${name}: ${JSON.stringify(spans.map((s) => s.name))}`).toHaveLength(1);
  return found[0]!;
}

/** The leader's and the worker's spans of a task, each checked against its parent. */
function expectTaskTrace(spans: Span[], taskId: string, callerSpanId: string): Span {
  const schedule = one(
    spans.filter((span) => span.service === 'drover-leader'),
    'drover.schedule',
    taskId,
  );
  expect(schedule.parentSpanId).toBe(callerSpanId);
  const wait = one(spans, 'drover.queue_wait', taskId);
  const assign = one(spans, 'drover.assign', taskId);
  expect(wait.parentSpanId).toBe(schedule.spanId);
  expect(assign.parentSpanId).toBe(schedule.spanId);
  expect(assign.attributes['drover.member.id']).toBe('traced-w1');
  const run = one(spans, 'drover.run', taskId);
  expect(run.service).toBe('traced-sdk-worker');
  expect(run.parentSpanId).toBe(assign.spanId);
  const complete = one(spans, 'drover.complete', taskId);
  expect(complete.service).toBe('drover-leader');
  expect(complete.parentSpanId).toBe(assign.spanId);
  return run;
}

const OTEL_ENV_KEYS = [
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_BSP_SCHEDULE_DELAY',
];

describe('OpenTelemetry traces', () => {
  const { cluster, clients } = useCluster();
  const collector = new MemoryCollector();
  const saved = OTEL_ENV_KEYS.map((key) => [key, process.env[key]] as const);

  afterEach(() => {
    collector.stop();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  /** Child processes inherit these: every process exports to the collector. */
  async function traceToCollector(): Promise<void> {
    const endpoint = await collector.start();
    Object.assign(process.env, {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  }

  it('joins the producer, the leader, the worker and the handler in one trace', async () => {
    await traceToCollector();
    const { address } = await cluster().startLeader();
    const worker = cluster().spawnScript('traced-w1', TRACED_SDK, ['worker', address, 'traced-w1']);
    await worker.waitForLine((line) => line.msg === 'worker joined');
    const producer = cluster().spawnScript('producer', TRACED_SDK, [
      'produce',
      address,
      'sdk-task',
    ]);
    const printed = await producer.waitForLine((line) => typeof line['traceId'] === 'string');
    const traceId = printed['traceId'] as string;
    await waitFor(() => collector.complete(traceId, [...TASK_SPANS, 'user.handler']), {
      timeoutMs: 15_000,
      what: 'the spans of the task scheduled by the SDK producer',
    });
    const spans = collector.trace(traceId);
    const request = one(spans, 'user.request');
    const sent = one(
      spans.filter((span) => span.service === 'traced-sdk-producer'),
      'drover.schedule',
    );
    expect(sent.parentSpanId).toBe(request.spanId);
    const run = expectTaskTrace(spans, 'sdk-task', sent.spanId);
    // The handler's own span, opened with the plain @opentelemetry/api, is the run's child.
    const handler = one(spans, 'user.handler');
    expect(handler.parentSpanId).toBe(run.spanId);
    expect(handler.attributes['user.task']).toBe('sdk-task');
    // drover's own processes export no command line (a --database-url may hold a password).
    for (const span of spans) {
      expect(Object.keys(span.resource).filter((key) => key.startsWith('process.'))).toEqual([]);
    }
  });

  it("takes the caller's traceparent from gRPC metadata (Python grpcio) and from an HTTP header", async () => {
    await traceToCollector();
    const { address, http } = await cluster().startLeader();
    const worker = cluster().spawnScript('traced-w1', TRACED_SDK, ['worker', address, 'traced-w1']);
    await worker.waitForLine((line) => line.msg === 'worker joined');
    const grpcTrace = '0af7651916cd43dd8448eb211c80319c';
    const httpTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    if (!skipPython) {
      await pyJson([
        '-plaintext',
        '-H',
        `traceparent: 00-${grpcTrace}-b7ad6b7169203331-01`,
        '-d',
        '{"task": {"id": "py-task", "payload": "1"}}',
        address,
        'scheduler.v1.SchedulerService/ScheduleTask',
      ]);
    }
    const response = await fetch(`${http}/v1/tasks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${httpTrace}-00f067aa0ba902b7-01`,
        tracestate: 'vendor=opaque',
      },
      body: JSON.stringify({ id: 'http-task', payload: '1' }),
    });
    expect(response.status).toBe(201);
    // A task that fails: its run and completion spans carry the error.
    const failing = await fetch(`${http}/v1/tasks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      },
      body: JSON.stringify({ id: 'bad-task', payload: '1', kind: 'fails', maxAttempts: 1 }),
    });
    expect(failing.status).toBe(201);
    const traces = [httpTrace, '1'.repeat(32), ...(skipPython ? [] : [grpcTrace])];
    await waitFor(() => traces.every((id) => collector.complete(id, TASK_SPANS)), {
      timeoutMs: 15_000,
      what: 'the spans of the tasks scheduled over HTTP and gRPC',
    });
    expectTaskTrace(collector.trace(httpTrace), 'http-task', '00f067aa0ba902b7');
    if (!skipPython) expectTaskTrace(collector.trace(grpcTrace), 'py-task', 'b7ad6b7169203331');
    const failed = collector.trace('1'.repeat(32));
    expectTaskTrace(failed, 'bad-task', '2'.repeat(16));
    expect(one(failed, 'drover.run').status).toMatchObject({ code: 2, message: 'boom' });
    expect(one(failed, 'drover.complete').attributes['drover.task.status']).toBe('error');
    // A task read back names the leader's schedule span as its trace context.
    const task = await clients(address).task('http-task');
    const schedule = one(
      collector.trace(httpTrace).filter((s) => s.service === 'drover-leader'),
      'drover.schedule',
    );
    expect(task.traceContext['traceparent']).toBe(`00-${httpTrace}-${schedule.spanId}-01`);
    expect(task.traceContext['tracestate']).toBe('vendor=opaque');
  });

  it('is off by default: nothing is exported without OTEL_* variables', async () => {
    const endpoint = await collector.start();
    // An endpoint for the SDK producer below only: the leader and worker get no OTEL_*.
    const { address, process: leader } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'plain-w1');
    await clients(address).schedule({ id: 'untraced', payload: '1' });
    await waitFor(
      async () => (await clients(address).tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 1,
      {
        timeoutMs: 10_000,
        what: 'the task completed',
      },
    );
    expect(leader.lines.some((line) => line.msg === 'tracing on')).toBe(false);
    expect(worker.lines.some((line) => line.msg === 'tracing on')).toBe(false);
    expect(collector.requests).toBe(0);
    expect(endpoint).toMatch(/^http:/);
  });

  it('refuses an exporter it does not have, at start, with one clear line', async () => {
    process.env['OTEL_TRACES_EXPORTER'] = 'zipkin';
    const leader = cluster().spawn('leader', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--store',
      'memory',
    ]);
    const { code } = await leader.exited;
    expect(code).toBe(1);
    expect(leader.raw.join('\n')).toMatch(
      /OTEL_TRACES_EXPORTER=zipkin: drover exports traces by otlp or console/,
    );
  });
});

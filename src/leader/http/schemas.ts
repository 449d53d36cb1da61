import { statusAlias, STATUS_WORDS } from '../../shared/status-words.js';
import { Member } from '../../gen/cluster/v1/leader.js';
import { Task } from '../../gen/scheduler/v1/scheduler.js';
import { taskToWire } from '../grpc/task-wire.js';
import type { TaskRecord } from '../../scheduler/task.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { echo } from '../../shared/text.js';
import { parseRfc3339, RFC3339_HINT } from '../../shared/rfc3339.js';
import { memberToWire } from '../grpc/member-wire.js';
import type { MemberView } from '../views.js';

// JSON schemas of the HTTP API. Field names are the proto JSON mapping's (lowerCamelCase;
// requests may also use the proto's snake_case names), and values are made by the
// generated toJSON, so HTTP and gRPC clients see the same task.

/** A task as JSON: the proto JSON mapping of scheduler.v1.Task (`waiting`: see Task). */
export function taskJson(task: TaskRecord, waiting = ''): unknown {
  return Task.toJSON(taskToWire(task, waiting));
}

/** A member as JSON: the proto JSON mapping of cluster.v1.Member. */
export function memberJson(view: MemberView): unknown {
  return Member.toJSON(memberToWire(view));
}

const uint = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;

/**
 * A uint64 field: a JSON number, or a string of digits as the proto JSON mapping writes
 * 64-bit integers (grpcurl's bodies, docs/grpcurl.md). Its range is checked where it is used.
 */
export function uint64(number: object, description?: string) {
  return {
    ...(description === undefined ? {} : { description }),
    anyOf: [number, { type: 'string', pattern: '^[0-9]{1,16}$' }],
  } as const;
}
const priority = {
  description: 'TASK_PRIORITY_LOW, _MEDIUM (default) or _HIGH, or its number',
  anyOf: [
    {
      type: 'string',
      enum: [
        'TASK_PRIORITY_UNSPECIFIED',
        'TASK_PRIORITY_LOW',
        'TASK_PRIORITY_MEDIUM',
        'TASK_PRIORITY_HIGH',
      ],
    },
    { type: 'integer', minimum: 0, maximum: 3 },
  ],
} as const;

/** A task to schedule; only these fields are read, and no others are accepted. */
export const TASK_INPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['payload'],
  properties: {
    id: { type: 'string', description: 'made by the leader when absent' },
    payload: { type: 'string' },
    priority,
    kind: { type: 'string' },
    targetMemberId: { type: 'string' },
    target_member_id: { type: 'string' },
    maxAttempts: uint,
    max_attempts: uint,
    retryBackoffMs: uint,
    retry_backoff_ms: uint,
    timeoutMs: uint,
    timeout_ms: uint,
    runAt: { type: 'string', description: 'RFC 3339 time: not started before it' },
    run_at: { type: 'string' },
    delayMs: uint64({ type: 'integer', minimum: 0 }, 'not started before this many ms'),
    delay_ms: uint64({ type: 'integer', minimum: 0 }),
    idempotencyKey: {
      type: 'string',
      description: 'a second schedule with this key, while it holds, returns this task',
    },
    idempotency_key: { type: 'string' },
    idempotencyTtlMs: uint64(
      { type: 'integer', minimum: 0 },
      'how long the key holds; 0 or absent: until the task finishes',
    ),
    idempotency_ttl_ms: uint64({ type: 'integer', minimum: 0 }),
    concurrencyKey: {
      type: 'string',
      description: "tasks with one key share the key's limits and pause, and take turns",
    },
    concurrency_key: { type: 'string' },
  },
} as const;

const timestamp = { type: 'string', format: 'date-time' } as const;

/** The query of a route that takes none: any parameter is refused by name (400). */
export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/** A task as the API returns it. */
export const TASK_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    payload: { type: 'string' },
    priority: { type: 'string' },
    status: { type: 'string' },
    kind: { type: 'string' },
    attempt: { type: 'integer' },
    memberId: { type: 'string' },
    targetMemberId: { type: 'string' },
    result: { type: 'string' },
    error: { type: 'string' },
    createdAt: timestamp,
    startedAt: timestamp,
    finishedAt: timestamp,
    maxAttempts: { type: 'integer' },
    retryBackoffMs: { type: 'integer' },
    timeoutMs: { type: 'integer' },
    retryAt: timestamp,
    runAt: timestamp,
    idempotencyKey: { type: 'string' },
    idempotencyTtlMs: { type: 'integer' },
    waiting: { type: 'string' },
    attemptBase: { type: 'integer' },
    concurrencyKey: { type: 'string' },
    traceContext: {
      type: 'object',
      description: "W3C trace context of the leader's schedule span, when the leader traces",
      additionalProperties: { type: 'string' },
    },
    attempts: {
      type: 'array',
      description: 'the attempts this leader saw, oldest first (in memory: since it started)',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer' },
          memberId: { type: 'string' },
          startedAt: timestamp,
          endedAt: timestamp,
          outcome: { type: 'string' },
          error: { type: 'string' },
          beganAt: timestamp,
        },
      },
    },
  },
} as const;

/** A member as the API returns it. */
export const MEMBER_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    address: { type: 'string' },
    status: { type: 'string' },
    slotsTotal: { type: 'integer' },
    slotsFree: { type: 'integer' },
    runningTaskIds: { type: 'array', items: { type: 'string' } },
    lastHeartbeatAgeMs: { type: 'integer' },
    kinds: { type: 'array', items: { type: 'string' } },
    reportedStatus: { type: 'string' },
    statusReason: { type: 'string' },
    quarantinedUntil: timestamp,
    quarantineReason: { type: 'string' },
    consecutiveFailures: { type: 'integer' },
    allowedCommands: { type: 'array', items: { type: 'string' } },
    slotsStopping: { type: 'integer' },
  },
} as const;

/** Path parameters of a route on one named thing: `{name}` non-empty. */
export function nameParams(name: string) {
  return {
    type: 'object',
    properties: { [name]: { type: 'string', minLength: 1 } },
    required: [name],
  } as const;
}

/** Path parameters of a route on one task or member: its id. */
export const ID_PARAMS = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1 } },
  required: ['id'],
} as const;

/**
 * A status as a query parameter: `pending` or the enum name `TASK_STATUS_PENDING`, both
 * read as the enum name (`failed` as error, `canceled` as cancelled); anything else is a 400 that lists what is accepted.
 */
export function statusQueryParam(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const name = statusAlias(value.toLowerCase().replace(/^task_status_/, ''));
  if (!(STATUS_WORDS as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(
      `unknown task status ${echo(value)}: use ${STATUS_WORDS.join(', ')} (or failed for error, or TASK_STATUS_PENDING and so on)`,
    );
  }
  return `TASK_STATUS_${name.toUpperCase()}`;
}

/** The fields a task body may spell in camelCase or in the proto's snake_case. */
const SPELLINGS: readonly (readonly [string, string])[] = [
  ['targetMemberId', 'target_member_id'],
  ['maxAttempts', 'max_attempts'],
  ['retryBackoffMs', 'retry_backoff_ms'],
  ['timeoutMs', 'timeout_ms'],
  ['runAt', 'run_at'],
  ['delayMs', 'delay_ms'],
  ['idempotencyKey', 'idempotency_key'],
  ['idempotencyTtlMs', 'idempotency_ttl_ms'],
  ['concurrencyKey', 'concurrency_key'],
];

/**
 * A body's fields with each proto snake_case name read as its camelCase one; a field given
 * in both spellings is refused rather than one of them silently winning. `where` names the
 * object in messages ("body", "body.task").
 */
export function oneSpelling(
  body: unknown,
  pairs: readonly (readonly [string, string])[],
  where = 'body',
): Record<string, unknown> {
  const fields = { ...((body ?? {}) as Record<string, unknown>) };
  for (const [camel, snake] of pairs) {
    if (!(snake in fields)) continue;
    if (camel in fields) {
      throw new InvalidArgumentError(
        `${where}: "${camel}" and "${snake}" are the same field; send one of them`,
      );
    }
    fields[camel] = fields[snake];
    delete fields[snake];
  }
  return fields;
}

/** Adds each field's proto snake_case spelling to a JSON schema's properties. */
export function withSnakeCase<P extends Record<string, object>>(
  properties: P,
  pairs: readonly (readonly [string, string])[],
): Record<string, object> {
  const all: Record<string, object> = { ...properties };
  for (const [camel, snake] of pairs) if (camel in properties) all[snake] = properties[camel]!;
  return all;
}

/**
 * A task from a JSON body (already checked against TASK_INPUT_SCHEMA). A field given in
 * both spellings is refused rather than one of them silently winning.
 */
export function taskFromBody(body: unknown, where = 'body'): Task {
  const fields = { ...((body ?? {}) as Record<string, unknown>) };
  for (const name of ['runAt', 'run_at']) {
    const value = fields[name];
    if (typeof value !== 'string') continue;
    // Strictly RFC 3339: the generated fromJSON would hand it to Date's loose parser.
    const atMs = parseRfc3339(value);
    if (atMs === undefined) {
      throw new InvalidArgumentError(
        `${where}: ${name} ${echo(value)} is not a time: ${RFC3339_HINT}`,
      );
    }
    fields[name] = new Date(atMs).toISOString();
  }
  return Task.fromJSON(oneSpelling(fields, SPELLINGS, where));
}

/** Every error: a message for a person. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;

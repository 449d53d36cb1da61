import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useRefusal } from '../caller.js';
import { duration, when } from '../format.js';
import { go, useNow, useWatch } from '../hooks.js';
import { messageOf, useNotice } from '../notices.js';
import { isFinished, shortPriority, shortStatus, type Task } from '../types.js';
import { LiveOutput } from './live-output.js';
import { StatusBadge } from './status-badge.js';

/** Runs an action; says in a notice how it went, and resolves whether it worked. */
type Act = (what: string, call: () => Promise<unknown>) => Promise<boolean>;

/**
 * One task: its fields, attempts, result or error, its output as it is written (the
 * leader's followed output stream), and the actions that fit its status.
 */
export function TaskDetail({ id }: { id: string }) {
  const notice = useNotice();
  const [task, setTask] = useState<Task | undefined>(undefined);
  const [missing, setMissing] = useState<string | undefined>(undefined);
  // Why a task waits can change with no change to it (a kind paused or resumed, a limit
  // set): a control change reads it again.
  const [controlChanges, setControlChanges] = useState(0);
  // Changes come by the watch; after the watch was lost (a leader restart), read it again.
  const { reopened } = useWatch(
    `/v1/tasks:watch?snapshot=false&controls=true&id=${seg(id)}`,
    ['changed', 'deleted', 'control'],
    (batch) => {
      for (const [event, data] of batch) {
        if (event === 'deleted') setMissing(`task ${id} was deleted`);
        else if (event === 'changed') setTask(data as Task);
      }
      if (batch.some(([event]) => event === 'control')) setControlChanges((n) => n + 1);
    },
  );
  useEffect(() => {
    api<Task>('GET', `/v1/tasks/${seg(id)}`).then(setTask, (err: unknown) =>
      setMissing(messageOf(err)),
    );
  }, [id, reopened, controlChanges]);
  // "Ran for" moves while the task runs.
  useNow(1000);
  if (missing !== undefined) {
    return (
      <section>
        <p class="notice notice-error" role="alert">
          {missing}
        </p>
        <a href="#/tasks">back to tasks</a>
      </section>
    );
  }
  if (task === undefined) return <p class="muted">loading…</p>;
  const act: Act = (what, call) =>
    call().then(
      () => {
        notice('info', `${what}: ${id}`);
        return true;
      },
      (err: unknown) => {
        notice('error', `${id} not ${what}: ${messageOf(err)}`);
        return false;
      },
    );
  return (
    <section class="detail">
      <div class="detail-head">
        <h1>{task.id}</h1>
        <StatusBadge task={task} />
      </div>
      <Actions task={task} act={act} />
      <TaskFields task={task} />
      <Attempts task={task} />
      {task.error ? (
        <Block
          title={isFinished(task) ? 'Error' : "Last attempt's error"}
          text={task.error}
          cls="error-text"
        />
      ) : null}
      {task.result ? (
        <Block title={isFinished(task) ? 'Result' : "Last attempt's result"} text={task.result} />
      ) : null}
      <Block title="Payload" text={task.payload ?? ''} />
      <LiveOutput id={id} attempt={task.attempt ?? 0} open={!isFinished(task)} />
    </section>
  );
}

function Actions({ task, act }: { task: Task; act: Act }) {
  const [confirming, setConfirming] = useState(false);
  const status = shortStatus(task.status);
  const path = `/v1/tasks/${seg(task.id)}`;
  const refused = useRefusal('write');
  const may = { disabled: refused !== undefined, title: refused };
  return (
    <div class="actions">
      {isFinished(task) ? null : (
        <button
          type="button"
          {...may}
          onClick={() => act('cancelled', () => api('POST', `${path}:cancel`))}
        >
          Cancel
        </button>
      )}
      {status === 'error' ? (
        <button
          type="button"
          {...may}
          onClick={() => act('re-run', () => api('POST', `${path}:retry`))}
        >
          Retry
        </button>
      ) : null}
      {isFinished(task) ? (
        confirming ? (
          <>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
            <button
              type="button"
              class="danger"
              onClick={() =>
                act('deleted', () => api('DELETE', path)).then((ok) => ok && go('tasks'))
              }
            >
              Confirm delete
            </button>
          </>
        ) : (
          <button type="button" {...may} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )
      ) : null}
    </div>
  );
}

/** Fields shown even when empty: a person looks for them first. */
const ALWAYS_SHOWN = new Set(['Member', 'Started', 'Finished', 'Last Member', 'Last Started']);

/** Waiting to run: queued, delayed, or waiting out a retry backoff. */
function isWaiting(task: Task): boolean {
  return ['pending', 'scheduled'].includes(shortStatus(task.status));
}

function TaskFields({ task }: { task: Task }) {
  const base = task.attemptBase ?? 0;
  // Waiting for another attempt: member and times are the last attempt's.
  const last = isWaiting(task) && (task.attempt ?? 0) > 0 ? 'Last ' : '';
  const rows: [string, string][] = [
    ['Kind', task.kind ?? 'default'],
    ['Priority', shortPriority(task.priority)],
    [
      'Attempt',
      `${task.attempt ?? 0} of ${base + (task.maxAttempts ?? 0)}${base ? ` (re-run after ${base})` : ''}`,
    ],
    [`${last}Member`, task.memberId || '-'],
    ['Target member', task.targetMemberId || '-'],
    ['Created', when(task.createdAt)],
    ['Run at', when(task.runAt)],
    [`${last}Started`, when(task.startedAt)],
    ['Finished', when(task.finishedAt)],
    ['Ran for', runTime(task)],
    ['Retry at', when(task.retryAt)],
    ['Timeout', task.timeoutMs ? duration(task.timeoutMs) : 'none'],
    ['Concurrency key', task.concurrencyKey || '-'],
    ['Idempotency key', task.idempotencyKey || '-'],
    ['Waiting', task.waiting || '-'],
    ['Trace', task.traceContext?.['traceparent'] ?? '-'],
  ];
  return (
    <dl class="fields">
      {rows
        .filter(([name, value]) => value !== '-' || ALWAYS_SHOWN.has(name))
        .map(([name, value]) => (
          <div key={name} data-field={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** The attempts the leader saw: member, times, how each ended and why it failed. */
function Attempts({ task }: { task: Task }) {
  const attempts = task.attempts ?? [];
  if (attempts.length === 0) return null;
  return (
    <div class="block">
      <h2>Attempts</h2>
      <table class="attempts">
        <thead>
          <tr>
            <th>#</th>
            <th>Member</th>
            <th>Started</th>
            <th>Took</th>
            <th>Outcome</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={a.attempt} data-attempt={a.attempt}>
              <td data-label="#">{a.attempt}</td>
              <td data-label="Member">{a.memberId}</td>
              <td data-label="Started">{when(a.startedAt)}</td>
              <td data-label="Took">
                {a.startedAt && a.endedAt ? took(a.startedAt, a.endedAt) : ''}
              </td>
              <td data-label="Outcome">
                <span
                  class={`badge badge-${a.outcome === 'retried' ? 'error' : ((a.outcome ?? 'running') || 'running').replace(' ', '-')}`}
                >
                  {a.outcome || 'running'}
                </span>
              </td>
              <td data-label="Error" class="error-text">
                {a.error}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function runTime(task: Task): string {
  if (task.startedAt === undefined || isWaiting(task)) return '-';
  const end = task.finishedAt === undefined ? new Date().toISOString() : task.finishedAt;
  return took(task.startedAt, end);
}

/**
 * How long an attempt ran. A timed start's start time is its run time, ahead of the
 * hand-off: before it, or ended before it (cancelled, its worker lost), it has not run.
 */
function took(startedAt: string, endedAt: string): string {
  const ms = Date.parse(endedAt) - Date.parse(startedAt);
  return ms < 0 ? 'not started' : duration(ms);
}

function Block({ title, text, cls = '' }: { title: string; text: string; cls?: string }) {
  return (
    <div class="block">
      <h2>{title}</h2>
      <pre class={cls}>{text}</pre>
    </div>
  );
}

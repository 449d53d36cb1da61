import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LeanHistogram, type LeanSeries } from './lean-histogram.js';
import type { Scheduler } from '../../scheduler/scheduler.js';
import { isLive as isLiveState, MEMBER_STATES } from '../membership/state.js';
import type { MemberView } from '../views.js';
import type { TaskTransition } from './task-transitions.js';

/**
 * What the leader's metrics read when scraped (gauges cost nothing until then). Each may
 * throw (a standby has no task list): the gauge is then left empty for that scrape.
 */
export interface MetricsSources {
  readonly counts: () => ReturnType<Scheduler['counts']>;
  readonly members: () => readonly MemberView[];
  readonly watchers: () => number;
  /** Whether this leader acts now, and its term (in a group on PostgreSQL). */
  readonly standing: () => { readonly active: boolean; readonly term: number | undefined };
}

/** Runs a gauge's collect; a source that cannot answer (a standby) leaves it empty. */
function tryCollect(gauge: Gauge<string>, collect: () => void): void {
  gauge.reset();
  try {
    collect();
  } catch {
    // Not the active leader: nothing to report.
  }
}

/**
 * Most kinds the metrics keep apart; tasks of kinds seen after these are counted under
 * {@link OTHER_KINDS}. Kinds are chosen by whoever schedules, so without a bound a caller
 * making up kinds would grow every scrape (and Prometheus) without end.
 */
export const MAX_METRIC_KINDS = 100;

/** The kind label of tasks past {@link MAX_METRIC_KINDS} (no task kind starts with `_`). */
export const OTHER_KINDS = '_other';

/** Seconds buckets from 1 ms to ~100 s: start delays and run times alike. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 100];

/**
 * The leader's Prometheus metrics (issue #19), in its own registry: task counters and
 * histograms by kind (fed by every saved change, see {@link observeSaved}), store commits,
 * and gauges read at scrape time (tasks by status, queue depth by priority, members by
 * state, slots, heartbeat age, watch subscribers), plus Node's process metrics. Labels
 * are kinds, statuses, priorities and member ids: never task ids.
 */
export class LeaderMetrics {
  readonly registry = new Registry();
  private readonly scheduled: Counter<'kind'>;
  private readonly started: Counter<'kind'>;
  private readonly finished: Counter<'kind' | 'status'>;
  private readonly retries: Counter<'kind'>;
  private readonly ahead: Counter;
  private readonly timed: Counter;
  private readonly recalls: Counter;
  private readonly toStart: LeanHistogram;
  private readonly runTime: LeanHistogram;
  private readonly commitSeconds: LeanSeries;
  private readonly commitTasks: LeanSeries;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.scheduled = new Counter({
      name: 'drover_tasks_scheduled_total',
      help: 'Tasks scheduled, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.started = new Counter({
      name: 'drover_task_attempts_started_total',
      help: 'Attempts started on workers, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.finished = new Counter({
      name: 'drover_tasks_finished_total',
      help: 'Tasks that ended, by kind and status (completed, error, cancelled).',
      labelNames: ['kind', 'status'],
      registers,
    });
    [this.ahead, this.timed, this.recalls] = aheadCounters(registers);
    this.retries = new Counter({
      name: 'drover_task_retries_total',
      help: 'Attempts that failed or timed out and will be retried, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.toStart = new LeanHistogram(
      'drover_task_schedule_to_start_seconds',
      "From a task's creation (or run time, if delayed) to its first attempt's start.",
      SECONDS,
      this.registry,
    );
    this.runTime = new LeanHistogram(
      'drover_task_run_seconds',
      "From a task's last attempt start to its end, by kind and status.",
      SECONDS,
      this.registry,
    );
    this.commitSeconds = new LeanHistogram(
      'drover_store_commit_seconds',
      'Time for one group commit of task changes to the store.',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      this.registry,
    ).labels();
    this.commitTasks = new LeanHistogram(
      'drover_store_commit_tasks',
      'Task records written by one group commit.',
      [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      this.registry,
    ).labels();
    this.gauges(sources, registers);
  }

  /** Counts attempts handed ahead of a free slot (prefetch) or of their run time (timed). */
  countAhead({ prefetched, timed }: { prefetched: number; timed: number }): void {
    if (prefetched > 0) this.ahead.inc(prefetched);
    if (timed > 0) this.timed.inc(timed);
  }

  /** Counts held tasks the leader asked their workers to hand back (see held-recall.ts). */
  countRecalls(count: number): void {
    this.recalls.inc(count);
  }

  /** Records one commit of task changes (after it landed): how long, how many. */
  observeCommit(tasks: number, commitMs: number): void {
    this.commitSeconds.observe(commitMs / 1000);
    this.commitTasks.observe(tasks);
  }

  /**
   * Each kind's labelled children, made once: prom-client hashes a labels object on every
   * inc and observe, which a task-per-microseconds hot path should not pay.
   */
  private readonly byKind = new Map<
    string,
    {
      /** The kind label: the task's kind, or `_other`. */
      kind: string;
      scheduled: Counter.Internal;
      started: Counter.Internal;
      retries: Counter.Internal;
      toStart: LeanSeries;
      finished: Map<string, { count: Counter.Internal; runTime: LeanSeries }>;
    }
  >();

  /** The children a task of `taskKind` counts in: its own, or `_other` past the bound. */
  private kindChildren(taskKind: string) {
    const children = this.byKind.get(taskKind);
    if (children !== undefined) return children;
    // Past the bound, kinds not seen yet share `_other` (never added to the map themselves).
    const kind = this.byKind.size < MAX_METRIC_KINDS ? taskKind : OTHER_KINDS;
    const made = this.byKind.get(kind) ?? {
      kind,
      scheduled: this.scheduled.labels(kind),
      started: this.started.labels(kind),
      retries: this.retries.labels(kind),
      toStart: this.toStart.labels({ kind }),
      finished: new Map(),
    };
    this.byKind.set(kind, made);
    return made;
  }

  /** Counts one step of a task (each counted once: see TaskTransitions). */
  readonly count = (t: TaskTransition): void => {
    const { kind } = t.task;
    switch (t.what) {
      case 'scheduled':
        this.kindChildren(kind).scheduled.inc();
        return;
      case 'started': {
        const children = this.kindChildren(kind);
        children.started.inc();
        const { startedAtMs, runAtMs, createdAtMs, attempt, attemptBase } = t.task;
        if (attempt - attemptBase === 1 && startedAtMs !== undefined) {
          const fromMs = Math.max(createdAtMs, runAtMs ?? createdAtMs);
          children.toStart.observe(Math.max(0, startedAtMs - fromMs) / 1000);
        }
        return;
      }
      case 'retrying':
        this.kindChildren(kind).retries.inc();
        return;
      case 'unstarted':
      case 'lost':
      case 'resumed':
        return;
      case 'finished': {
        const children = this.kindChildren(kind);
        const byStatus = children.finished;
        let child = byStatus.get(t.status);
        if (child === undefined) {
          const labels = { kind: children.kind, status: t.status };
          child = { count: this.finished.labels(labels), runTime: this.runTime.labels(labels) };
          byStatus.set(t.status, child);
        }
        child.count.inc();
        const { startedAtMs, finishedAtMs } = t.task;
        if (startedAtMs !== undefined && finishedAtMs !== undefined && t.status !== 'cancelled') {
          child.runTime.observe((finishedAtMs - startedAtMs) / 1000);
        }
        return;
      }
    }
  };

  /** Gauges computed when scraped, from the leader's own state. */
  // eslint-disable-next-line max-lines-per-function -- one declaration per gauge, no logic
  private gauges(sources: MetricsSources, registers: Registry[]): void {
    new Gauge({
      name: 'drover_tasks',
      help: 'Tasks held, by status.',
      labelNames: ['status'],
      registers,
      collect() {
        tryCollect(this, () => {
          const { byStatus } = sources.counts();
          for (const [status, n] of Object.entries(byStatus)) this.set({ status }, n);
        });
      },
    });
    new Gauge({
      name: 'drover_queue_depth',
      help: 'Tasks queued for a slot (pending, not waiting out a backoff), by priority.',
      labelNames: ['priority'],
      registers,
      collect() {
        tryCollect(this, () => {
          const { queuedByPriority } = sources.counts();
          for (const [priority, n] of Object.entries(queuedByPriority)) this.set({ priority }, n);
        });
      },
    });
    new Gauge({
      name: 'drover_members',
      help: 'Members, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        tryCollect(this, () => {
          // Every state, none at 0 too: an alert on `{state="alive"} == 0` must have a series.
          const byState = new Map<string, number>(MEMBER_STATES.map((state) => [state, 0]));
          for (const view of sources.members()) {
            byState.set(view.member.state, (byState.get(view.member.state) ?? 0) + 1);
          }
          for (const [state, n] of byState) this.set({ state }, n);
        });
      },
    });
    const slots = (name: string, help: string, pick: (v: MemberView) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          tryCollect(this, () => {
            let total = 0;
            for (const view of sources.members()) total += pick(view);
            this.set(total);
          });
        },
      });
    slots('drover_slots_total', 'Slots of live members.', (v) => (isLive(v) ? v.member.slots : 0));
    slots('drover_slots_free', 'Free slots of live members.', (v) => (isLive(v) ? v.slotsFree : 0));
    new Gauge({
      name: 'drover_member_heartbeat_age_seconds',
      help: "Time since each live member's last heartbeat.",
      labelNames: ['member'],
      registers,
      collect() {
        tryCollect(this, () => {
          for (const view of sources.members()) {
            if (isLive(view) && view.heartbeatAgeMs !== undefined) {
              this.set({ member: view.member.id }, view.heartbeatAgeMs / 1000);
            }
          }
        });
      },
    });
    new Gauge({
      name: 'drover_leader_active',
      help: 'Whether this leader acts (1) or stands by (0); a leader on SQLite always acts. Alert when the sum over a group is not 1.',
      registers,
      collect() {
        tryCollect(this, () => this.set(sources.standing().active ? 1 : 0));
      },
    });
    new Gauge({
      name: 'drover_leader_term',
      help: 'The term this leader acts under in a group on PostgreSQL (0 while it stands by, and for a leader on SQLite). A rise is a takeover.',
      registers,
      collect() {
        tryCollect(this, () => {
          const { term } = sources.standing();
          if (term !== undefined) this.set(term);
        });
      },
    });
    new Gauge({
      name: 'drover_watch_subscribers',
      help: 'Open task, member and output watches (gRPC and SSE).',
      registers,
      collect() {
        tryCollect(this, () => this.set(sources.watchers()));
      },
    });
  }
}

function isLive(view: MemberView): boolean {
  return isLiveState(view.member.state);
}

/**
 * Starts handed out ahead: of a free slot (prefetch), of their run time (timed starts); and
 * held ones asked back for a free slot elsewhere (recalls).
 */
function aheadCounters(registers: Registry[]): [Counter, Counter, Counter] {
  return [
    new Counter({
      name: 'drover_task_attempts_prefetched_total',
      help: 'Attempts handed to a worker whose slots were all busy (prefetch); they waited there for a slot.',
      registers,
    }),
    new Counter({
      name: 'drover_task_attempts_timed_total',
      help: 'Delayed tasks handed to a worker before their run time, to start on its own timer then (timed starts).',
      registers,
    }),
    new Counter({
      name: 'drover_task_recalls_total',
      help: 'Tasks held ahead on a busy worker that the leader asked it to hand back, unstarted, for a free slot elsewhere.',
      registers,
    }),
  ];
}

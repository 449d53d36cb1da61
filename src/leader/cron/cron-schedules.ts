import type { Logger } from 'pino';
import {
  checkCronExpression,
  checkCronName,
  checkTimeZone,
  firingDue,
  firingTaskId,
  nextFiringAfter,
  type CronSchedule,
  type TaskTemplate,
} from './cron-schedule.js';
import type { Scheduler } from '../../scheduler/scheduler.js';
import type { StoredControl } from '../../scheduler/store/store.js';
import type { Clock } from '../../shared/clock.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { ClusterEvents } from '../cluster-events.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { LeaderTimers } from '../leader-timers.js';
import { readJsonControl } from '../stored-controls.js';
import type { TaskCommands } from '../task-commands.js';
import type { NewTaskInput } from '../views.js';

/** A schedule as shown: as kept, with its next firing (none while paused). */
export interface CronView extends CronSchedule {
  readonly nextRunAtMs: number | undefined;
}

/** What cron schedules read and drive. */
export interface CronSchedulesDeps {
  readonly scheduler: Pick<Scheduler, 'check'>;
  readonly commands: Pick<TaskCommands, 'schedule'>;
  readonly commits: Pick<CommitPipeline, 'saveControls'>;
  readonly events: Pick<ClusterEvents, 'emitControl'>;
  readonly timers: Pick<LeaderTimers, 'after'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Throws while the leader is shutting down. */
  readonly assertRunning: () => void;
}

const PREFIX = 'cron/';

/**
 * Named cron schedules (issue #18), kept as stored controls. One timer for all of them,
 * set for the earliest next firing. A firing schedules one task whose id is the name and
 * the firing time, in the same commit as the schedule's record of it, so a restart or a
 * failover never makes a firing twice (the id is taken) nor skips the latest one (a
 * starting leader makes the latest firing it finds owed; see `firingDue` for why only
 * that one).
 */
export class CronSchedules {
  private readonly schedules = new Map<string, CronSchedule>();
  private armed: { readonly atMs: number; readonly cancel: () => void } | undefined;
  private stopped = false;

  constructor(private readonly deps: CronSchedulesDeps) {}

  /** Takes the stored schedules at start; returns the controls that are not this unit's. */
  restore(controls: readonly { key: string; value: string }[]): { key: string; value: string }[] {
    const others: { key: string; value: string }[] = [];
    for (const control of controls) {
      if (!control.key.startsWith(PREFIX)) {
        others.push(control);
        continue;
      }
      const name = control.key.slice(PREFIX.length);
      const schedule = readJsonControl(control.value, (v) => readSchedule(name, v));
      if (schedule === undefined) {
        this.deps.log.error(
          { schedule: name },
          'stored cron schedule unreadable; it does not fire',
        );
        continue;
      }
      this.schedules.set(name, schedule);
    }
    return others;
  }

  /** Makes the firings owed now and sets the timer for the next (at start, and each firing). */
  run(nowMs: number): void {
    if (this.stopped) return;
    this.disarm();
    for (const schedule of this.schedules.values()) {
      const firingAtMs = firingDue(schedule, nowMs);
      if (firingAtMs !== undefined) this.fire(schedule, firingAtMs);
    }
    this.arm(nowMs);
  }

  /** No more firings (shutdown). */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /** Adds a schedule (or, with `replace`, replaces the one of that name). */
  async add(
    spec: { name: string; expression: string; timeZone: string; task: TaskTemplate },
    replace: boolean,
  ): Promise<CronView> {
    this.deps.assertRunning();
    checkCronName(spec.name);
    const timeZone = checkTimeZone(spec.timeZone);
    const expression = spec.expression.trim();
    checkCronExpression(expression, timeZone);
    const nowMs = this.deps.clock.nowMs();
    // The template must make a valid task: checked now, not at 3 am.
    this.deps.scheduler.check(nowMs, { ...spec.task, id: firingTaskId(spec.name, nowMs) });
    const old = this.schedules.get(spec.name);
    if (old !== undefined && !replace) {
      throw new ConflictError(
        `cron schedule ${spec.name} exists already; remove it first, or replace it (drover cron add --replace, HTTP PUT /v1/cron/${spec.name}, AddCronSchedule with replace: true)`,
      );
    }
    const schedule: CronSchedule = {
      name: spec.name,
      expression,
      timeZone,
      task: spec.task,
      paused: old?.paused ?? false,
      createdAtMs: old?.createdAtMs ?? nowMs,
      activeSinceMs: nowMs,
      lastRunAtMs: old?.lastRunAtMs,
      lastTaskId: old?.lastTaskId,
    };
    return this.save(schedule, 'cron schedule added');
  }

  /** Removes a schedule; the tasks it made stay. Says whether there was one. */
  async remove(name: string): Promise<{ changed: boolean }> {
    this.deps.assertRunning();
    checkCronName(name);
    const schedule = this.schedules.get(name);
    if (schedule === undefined) return { changed: false };
    this.schedules.delete(name);
    await this.deps.commits.saveControls([{ key: `${PREFIX}${name}`, value: undefined }]);
    this.deps.events.emitControl({ type: 'cron', schedule: this.view(schedule), removed: true });
    this.deps.log.info({ schedule: name }, 'cron schedule removed');
    this.arm(this.deps.clock.nowMs());
    return { changed: true };
  }

  /** Pauses or resumes a schedule; a resumed one skips the firings it missed while paused. */
  async setPaused(
    name: string,
    paused: boolean,
  ): Promise<{ schedule: CronView; changed: boolean }> {
    this.deps.assertRunning();
    checkCronName(name);
    const schedule = this.schedules.get(name);
    if (schedule === undefined) throw new NotFoundError(`cron schedule ${name} not found`);
    if (schedule.paused === paused) return { schedule: this.view(schedule), changed: false };
    const activeSinceMs = paused ? schedule.activeSinceMs : this.deps.clock.nowMs();
    const changed = { ...schedule, paused, activeSinceMs };
    const view = await this.save(
      changed,
      paused ? 'cron schedule paused' : 'cron schedule resumed',
    );
    return { schedule: view, changed: true };
  }

  /** Every schedule, by name. */
  list(): CronView[] {
    return [...this.schedules.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((schedule) => this.view(schedule));
  }

  private async save(schedule: CronSchedule, message: string): Promise<CronView> {
    this.schedules.set(schedule.name, schedule);
    this.arm(this.deps.clock.nowMs());
    await this.deps.commits.saveControls([storedControl(schedule)]);
    const view = this.view(schedule);
    this.deps.events.emitControl({ type: 'cron', schedule: view, removed: false });
    this.deps.log.info({ schedule: schedule.name, expression: schedule.expression }, message);
    return view;
  }

  /**
   * Schedules a firing's task and records the firing, both issued in this turn so they
   * land in one commit. A task id already taken is not made again (see below).
   */
  private fire(schedule: CronSchedule, firingAtMs: number): void {
    const id = firingTaskId(schedule.name, firingAtMs);
    const fired: CronSchedule = { ...schedule, lastRunAtMs: firingAtMs, lastTaskId: id };
    this.schedules.set(schedule.name, fired);
    const task: NewTaskInput = { ...schedule.task, id };
    const scheduling = this.deps.commands.schedule([task]);
    const recording = this.deps.commits.saveControls([storedControl(fired)]);
    Promise.all([scheduling, recording]).then(
      () => {
        this.deps.events.emitControl({ type: 'cron', schedule: this.view(fired), removed: false });
        this.deps.log.info({ schedule: schedule.name, taskId: id }, 'cron schedule fired');
      },
      (err: unknown) => {
        if (err instanceof ConflictError) {
          // The firing and its record land in one commit, so a leader that restarted or took
          // over knows it made this one and does not come here: the id was most likely taken
          // by a task someone scheduled with it. Loud, since the firing did not run.
          this.deps.log.warn(
            { schedule: schedule.name, taskId: id },
            'cron firing not made: a task with its id exists already',
          );
          return;
        }
        // The template was checked when added, but limits may have changed since (a
        // smaller payload limit after a restart): say so; the next firing tries again.
        this.deps.log.error({ schedule: schedule.name, taskId: id, err }, 'cron firing failed');
      },
    );
  }

  private view(schedule: CronSchedule): CronView {
    const nextRunAtMs = schedule.paused
      ? undefined
      : nextFiringAfter(schedule, Math.max(this.deps.clock.nowMs(), schedule.lastRunAtMs ?? 0));
    return { ...schedule, nextRunAtMs };
  }

  /** Sets the one timer for the earliest next firing of any schedule. */
  private arm(nowMs: number): void {
    if (this.stopped) return;
    let next: number | undefined;
    for (const schedule of this.schedules.values()) {
      if (schedule.paused) continue;
      const at = nextFiringAfter(schedule, nowMs);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    if (next === this.armed?.atMs) return;
    this.disarm();
    if (next === undefined) return;
    const cancel = this.deps.timers.after(Math.max(0, next - nowMs), () => {
      this.armed = undefined;
      this.run(this.deps.clock.nowMs());
    });
    this.armed = { atMs: next, cancel };
  }

  private disarm(): void {
    this.armed?.cancel();
    this.armed = undefined;
  }
}

function storedControl(schedule: CronSchedule): StoredControl {
  const { name, ...rest } = schedule;
  return { key: `${PREFIX}${name}`, value: JSON.stringify(rest) };
}

function readSchedule(name: string, v: Record<string, unknown>): CronSchedule | undefined {
  const { expression, timeZone, task, paused, createdAtMs, activeSinceMs } = v;
  if (typeof expression !== 'string' || typeof timeZone !== 'string') return undefined;
  if (typeof task !== 'object' || task === null) return undefined;
  if (typeof paused !== 'boolean') return undefined;
  if (typeof createdAtMs !== 'number' || typeof activeSinceMs !== 'number') return undefined;
  const lastRunAtMs = typeof v.lastRunAtMs === 'number' ? v.lastRunAtMs : undefined;
  const lastTaskId = typeof v.lastTaskId === 'string' ? v.lastTaskId : undefined;
  return {
    name,
    expression,
    timeZone,
    task: task as TaskTemplate,
    paused,
    createdAtMs,
    activeSinceMs,
    lastRunAtMs,
    lastTaskId,
  };
}

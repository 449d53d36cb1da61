import { NotLeaderError } from '../../shared/errors.js';
import type { MemberId, TaskId } from '../../shared/ids.js';
import type { CompletionReport, TaskQuery } from '../../scheduler/scheduler.js';
import type { Coordinator } from '../coordinator.js';
import type { LeaderApi } from '../leader-api.js';
import type { HeartbeatInput, NewTaskInput, WorkChannel } from '../views.js';

/** The active leader of a group, as this leader last read it from the lease. */
export interface ActiveLeader {
  readonly id: string;
  readonly term: number;
  /** Its gRPC address, host:port, as it advertises it. */
  readonly address: string;
  /** Its HTTP API address, if it serves one. */
  readonly httpAddress: string | undefined;
}

/**
 * What the adapters serve in a highly available group: this leader's Coordinator while it
 * holds the lease, and a refusal naming the active leader while it does not. Switching is
 * one assignment: a call is either served whole by the coordinator of the current term or
 * refused, never split between two.
 */
export class LeaderSwitch implements LeaderApi {
  private coordinator: Coordinator | undefined;
  /** Whether the active term's lease still holds (false once it may have passed on). */
  private mayAct: () => boolean = () => false;
  private known: ActiveLeader | undefined;
  private databaseTrouble: string | undefined;

  constructor(private readonly selfId: string) {}

  /**
   * Serves `coordinator` from now on (this leader took over), while `mayAct` says its
   * lease holds: a leader woken from a freeze past its lease refuses at once, before its
   * watchdog has run, rather than act on a term that is over.
   */
  activate(coordinator: Coordinator, mayAct: () => boolean = () => true): void {
    this.coordinator = coordinator;
    this.mayAct = mayAct;
  }

  /** Stops serving; returns the coordinator that was active, for the caller to shut down. */
  deactivate(): Coordinator | undefined {
    const was = this.coordinator;
    this.coordinator = undefined;
    return was;
  }

  /** Notes who holds the lease now (undefined: nobody, or unknown). */
  setActiveLeader(leader: ActiveLeader | undefined): void {
    this.known = leader;
  }

  /** Notes why this leader cannot use its database now (undefined: it can). */
  setDatabaseTrouble(reason: string | undefined): void {
    this.databaseTrouble = reason;
  }

  /** The leader this one would send a caller to, if any (never itself). */
  get activeLeader(): ActiveLeader | undefined {
    return this.known?.id === this.selfId ? undefined : this.known;
  }

  /** True while this leader is active and its coordinator takes requests. */
  get ready(): boolean {
    return this.serving()?.ready ?? false;
  }

  /** The coordinator of a term whose lease holds, if any. */
  private serving(): Coordinator | undefined {
    return this.coordinator !== undefined && this.mayAct() ? this.coordinator : undefined;
  }

  get events(): Coordinator['events'] {
    return this.active().events;
  }

  get watchers(): Coordinator['watchers'] {
    return this.active().watchers;
  }

  join(spec: Parameters<Coordinator['join']>[0]): ReturnType<Coordinator['join']> {
    return this.active().join(spec);
  }

  leave(id: MemberId, session?: string): void {
    this.active().leave(id, session);
  }

  members(): ReturnType<Coordinator['members']> {
    return this.active().members();
  }

  drain(id: MemberId): ReturnType<Coordinator['drain']> {
    return this.active().drain(id);
  }

  undrain(id: MemberId): ReturnType<Coordinator['undrain']> {
    return this.active().undrain(id);
  }

  openStream(id: MemberId, session: string, channel: WorkChannel): number {
    return this.active().openStream(id, session, channel);
  }

  heartbeat(id: MemberId, streamId: number, input: HeartbeatInput, first: boolean): void {
    this.active().heartbeat(id, streamId, input, first);
  }

  closeStream(id: MemberId, streamId: number, reason: string): void {
    // A stream of a coordinator that stepped down was closed by its shutdown already (and
    // one whose term is over is about to be): a closed stream then declares nobody lost.
    this.serving()?.closeStream(id, streamId, reason);
  }

  scheduleTask(spec: NewTaskInput): ReturnType<Coordinator['scheduleTask']> {
    return this.active().scheduleTask(spec);
  }

  scheduleTasks(specs: readonly NewTaskInput[]): ReturnType<Coordinator['scheduleTasks']> {
    return this.active().scheduleTasks(specs);
  }

  cancelTask(id: TaskId): ReturnType<Coordinator['cancelTask']> {
    return this.active().cancelTask(id);
  }

  completeTask(report: CompletionReport): ReturnType<Coordinator['completeTask']> {
    return this.active().completeTask(report);
  }

  startCommand(
    ...args: Parameters<Coordinator['startCommand']>
  ): ReturnType<Coordinator['startCommand']> {
    return this.active().startCommand(...args);
  }

  deleteTask(id: TaskId): ReturnType<Coordinator['deleteTask']> {
    return this.active().deleteTask(id);
  }

  getTask(id: TaskId): ReturnType<Coordinator['getTask']> {
    return this.active().getTask(id);
  }

  listTasks(query: TaskQuery): ReturnType<Coordinator['listTasks']> {
    return this.active().listTasks(query);
  }

  waitingReason(task: Parameters<Coordinator['waitingReason']>[0]): string | undefined {
    return this.active().waitingReason(task);
  }

  rerunTasks(
    target: Parameters<Coordinator['rerunTasks']>[0],
  ): ReturnType<Coordinator['rerunTasks']> {
    return this.active().rerunTasks(target);
  }

  taskCounts(): ReturnType<Coordinator['taskCounts']> {
    return this.active().taskCounts();
  }

  /** The active leader's pauses (a standby refuses, naming the active leader). */
  get pauses(): Coordinator['pauses'] {
    return this.active().pauses;
  }

  /** The active leader's limits. */
  get limits(): Coordinator['limits'] {
    return this.active().limits;
  }

  /** The active leader's cron schedules. */
  get crons(): Coordinator['crons'] {
    return this.active().crons;
  }

  watchTasks(
    listener: Parameters<Coordinator['watchTasks']>[0],
    withSnapshot?: boolean,
    onlyId?: TaskId,
  ): ReturnType<Coordinator['watchTasks']> {
    return this.active().watchTasks(listener, withSnapshot, onlyId);
  }

  watchMembers(
    listener: Parameters<Coordinator['watchMembers']>[0],
  ): ReturnType<Coordinator['watchMembers']> {
    return this.active().watchMembers(listener);
  }

  appendOutput(...args: Parameters<Coordinator['appendOutput']>): Promise<void> {
    return this.active().appendOutput(...args);
  }

  readOutput(
    ...args: Parameters<Coordinator['readOutput']>
  ): ReturnType<Coordinator['readOutput']> {
    return this.active().readOutput(...args);
  }

  /** The coordinator, or a refusal that names the active leader when this one knows it. */
  private active(): Coordinator {
    const coordinator = this.serving();
    if (coordinator) return coordinator;
    throw this.standbyRefusal()!;
  }

  /** The refusal a caller gets while this leader stands by (undefined while active). */
  standbyRefusal(): NotLeaderError | undefined {
    if (this.serving()) return undefined;
    const leader = this.activeLeader;
    return new NotLeaderError(
      leader
        ? `this leader is a standby; the active leader is ${leader.address} (term ${leader.term})`
        : this.databaseTrouble !== undefined
          ? `this leader is a standby and cannot reach its database (${this.databaseTrouble}); retry shortly`
          : 'this leader is a standby and knows of no active leader right now (a takeover may be under way); retry shortly',
      leader?.address,
      leader?.httpAddress,
    );
  }
}

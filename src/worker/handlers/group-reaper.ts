import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * Where a running command's process group is recorded so it cannot outlive its worker.
 * The command handler adds a group when it spawns a command and removes it once the group
 * has been stopped.
 */
export interface GroupRegistry {
  add(pgid: number): void;
  remove(pgid: number): void;
}

/**
 * The reaper's program, for dash or any POSIX sh. It reads `+ PGID` and `- PGID` lines on
 * stdin and keeps the set; at end of input (the worker closed the pipe, or died: the kernel
 * closes a dead process's descriptors, SIGKILL included) it sends SIGTERM to every group
 * left, waits up to the grace ($1, in tenths of a second) for them to end, and sends SIGKILL
 * to whatever is still there. It ignores the terminal's and a supervisor's stop signals, so only the end of its input ends it.
 */
const REAPER_SCRIPT = `
trap '' INT TERM HUP QUIT
groups=' '
while read -r op pgid; do
  case $pgid in ''|*[!0-9]*) continue ;; esac
  case $op in
    +) groups="$groups$pgid " ;;
    -) case $groups in *" $pgid "*) groups="\${groups%% $pgid *} \${groups#* $pgid }" ;; esac ;;
  esac
done
left=''
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null && left="$left $g"; done
tenths=0
while [ -n "$left" ] && [ "$tenths" -lt "$1" ]; do
  sleep 0.1
  tenths=$((tenths + 1))
  still=''
  for g in $left; do kill -s 0 -- "-$g" 2>/dev/null && still="$still $g"; done
  left=$still
done
for g in $left; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
`;

/** How many times a reaper that ended is replaced before the worker goes on without one. */
const MAX_RESTARTS = 3;

/** Beyond the kill grace, what the leader waits after a loss for the reaper to be done. */
const LOSS_FENCE_MARGIN_MS = 500;

/** What a {@link GroupReaper} needs. */
export interface GroupReaperOptions {
  /** After SIGTERM to the groups left, how long until SIGKILL. */
  readonly killGraceMs: number;
  readonly logger: Logger;
  /** The shell that runs the reaper; `/bin/sh` unless a test stands in. */
  readonly shell?: string;
}

/**
 * Kills the commands of a worker that dies before it could stop them (SIGKILL, the OOM
 * killer, a crash). Commands run in process groups of their own, so nothing of the
 * kernel's ends them with the worker; without this, the leader would requeue the attempt
 * after the dead timeout while the first run still ran, and the command would run twice at
 * once. One small shell per worker, in a session of its own, holds the list of live groups
 * and the read end of a pipe whose only writer is the worker; when that pipe ends it stops
 * every group left (see REAPER_SCRIPT). Without a shell (a distroless image) the worker
 * logs that commands may outlive it and runs them anyway.
 */
export class GroupReaper implements GroupRegistry {
  private child: ChildProcess | undefined;
  private readonly live = new Set<number>();
  private closed = false;
  /** Reapers started after the first; bounded, so a shell that dies at once cannot spin. */
  private restarts = 0;

  constructor(private readonly options: GroupReaperOptions) {
    this.child = this.spawn();
  }

  /**
   * How long after the worker dies every command of it has surely ended: the reaper's
   * grace before SIGKILL, and a margin for it to wake, signal, and the kernel to act.
   */
  get lossFenceMs(): number {
    return this.options.killGraceMs + LOSS_FENCE_MARGIN_MS;
  }

  add(pgid: number): void {
    this.live.add(pgid);
    this.send(`+ ${pgid}\n`);
  }

  remove(pgid: number): void {
    if (this.live.delete(pgid)) this.send(`- ${pgid}\n`);
  }

  /**
   * Ends the reaper: it stops whatever groups are still listed (none after a clean drain)
   * and exits. Resolves when it has.
   */
  close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin?.end();
    });
  }

  private spawn(): ChildProcess | undefined {
    const graceTenths = String(Math.ceil(this.options.killGraceMs / 100));
    const child = spawn(
      this.options.shell ?? '/bin/sh',
      ['-c', REAPER_SCRIPT, 'drover-reaper', graceTenths],
      {
        // Its own session: a Ctrl-C or a signal to the worker's group does not reach it.
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    // Neither it nor its pipe keeps the worker alive; the worker closes it on the way out.
    child.unref();
    child.stdin?.on('error', () => {}); // EPIPE when it died: the exit handler says so
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    child.once('error', (err) => {
      this.options.logger.warn(
        { err: err.message },
        'cannot start /bin/sh to watch commands: a command may outlive this worker if it is killed',
      );
      if (this.child === child) this.child = undefined;
    });
    child.once('exit', (code, signal) => {
      if (this.closed || this.child !== child) return;
      if (this.restarts >= MAX_RESTARTS) {
        this.child = undefined;
        this.options.logger.warn(
          { code, signal },
          'command reaper ended again; a command may outlive this worker if it is killed',
        );
        return;
      }
      // Killed by someone: start another and give it the groups still running.
      this.restarts++;
      this.options.logger.warn({ code, signal }, 'command reaper ended; starting another');
      this.child = this.spawn();
      for (const pgid of this.live) this.send(`+ ${pgid}\n`);
    });
    return child;
  }

  private send(line: string): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(line);
  }
}

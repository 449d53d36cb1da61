import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupReaper } from '../../../src/worker/handlers/group-reaper.js';
import { processGone } from '../../helpers/process-state.js';
import { waitFor } from '../../helpers/wait-for.js';
import { captureLogger } from './capture-logger.js';

/**
 * The reaper is a real /bin/sh, so it is tested on real process groups: a shell in a
 * session of its own with a background `sleep`, as a command that forks would leave.
 */
interface Group {
  readonly leader: ChildProcess;
  readonly pgid: number;
  /** The background child's pid, read from the group's first line of output. */
  readonly child: number;
}

const started: Group[] = [];

async function startGroup(script: string): Promise<Group> {
  const leader = spawn('/bin/sh', ['-c', `${script} & echo $!; wait`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [line] = (await once(leader.stdout!, 'data')) as [Buffer];
  const group = { leader, pgid: leader.pid!, child: Number(line.toString().trim()) };
  started.push(group);
  return group;
}

function ended(group: Group): Promise<unknown> {
  const { leader } = group;
  if (leader.exitCode !== null || leader.signalCode !== null) return Promise.resolve();
  return once(leader, 'exit');
}

/**
 * The reaper waits for a group to empty, and a child of a group that ended is a zombie
 * until init reaps it (here up to a second or so); a group so left waits out the grace.
 */
const GRACE_TEST_MS = 10_000;

/**
 * Resolves once a signalled process has ended. A SIGKILL is acted on when the process next
 * runs, which on a loaded machine can be a while after the reaper sent it.
 */
function ends(pid: number): Promise<true> {
  return waitFor(() => processGone(pid), { timeoutMs: 5_000, what: `pid ${pid} to end` });
}

afterEach(() => {
  for (const { pgid } of started.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('GroupReaper', () => {
  it(
    'stops every group still listed when its input ends, and leaves removed ones alone',
    { timeout: GRACE_TEST_MS },
    async () => {
      const { logger } = captureLogger();
      const reaper = new GroupReaper({ killGraceMs: 3_000, logger });
      const listed = await startGroup('sleep 60');
      const removed = await startGroup('sleep 60');
      reaper.add(listed.pgid);
      reaper.add(removed.pgid);
      reaper.remove(removed.pgid);
      await reaper.close();
      // SIGTERM ended the listed group: no SIGKILL was needed.
      await ended(listed);
      expect(listed.leader.signalCode).toBe('SIGTERM');
      await ends(listed.child);
      expect(processGone(removed.child)).toBe(false);
      expect(removed.leader.exitCode).toBeNull();
    },
  );

  it('sends SIGKILL after the grace to a group that ignores SIGTERM', async () => {
    const { logger } = captureLogger();
    const reaper = new GroupReaper({ killGraceMs: 200, logger });
    // Ignored signals stay ignored across exec, so the background sleep ignores it too.
    const stubborn = await startGroup("trap '' TERM; sleep 60");
    reaper.add(stubborn.pgid);
    await reaper.close();
    await ended(stubborn);
    expect(stubborn.leader.signalCode).toBe('SIGKILL');
    await ends(stubborn.child);
  });

  it(
    'gives a group the grace to end by itself after SIGTERM before any SIGKILL',
    { timeout: GRACE_TEST_MS },
    async () => {
      const { logger } = captureLogger();
      const reaper = new GroupReaper({ killGraceMs: 3_000, logger });
      // It takes a moment to end on SIGTERM, as a program that cleans up would.
      const tidy = await startGroup("trap 'sleep 0.3; exit 7' TERM; sleep 60");
      reaper.add(tidy.pgid);
      await reaper.close();
      await ended(tidy);
      expect([tidy.leader.exitCode, tidy.leader.signalCode]).toEqual([7, null]);
    },
  );

  it('ends when its input ends with nothing listed, and lines it cannot read change nothing', async () => {
    const { logger } = captureLogger();
    const reaper = new GroupReaper({ killGraceMs: 200, logger });
    const group = await startGroup('sleep 60');
    reaper.add(group.pgid);
    reaper.remove(group.pgid);
    reaper.remove(group.pgid + 1); // never listed
    await reaper.close();
    expect(group.leader.exitCode).toBeNull();
    expect(processGone(group.child)).toBe(false);
  });

  it('starts another reaper with the live groups when its shell is killed', async () => {
    const { logger, lines } = captureLogger();
    const reaper = new GroupReaper({ killGraceMs: 200, logger });
    const group = await startGroup('sleep 60');
    reaper.add(group.pgid);
    const shells = (): number[] =>
      spawnSyncPids().filter((pid) => readCmdline(pid).includes('drover-reaper'));
    const [first] = shells();
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    await waitForLine(lines, 'command reaper ended; starting another');
    await reaper.close();
    await ended(group);
    await ends(group.child);
  });
});

/** Pids of this test process's children, from /proc (no `ps` needed). */
function spawnSyncPids(): number[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim();
  return children === '' ? [] : children.split(' ').map(Number);
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Resolves once `msg` was logged; bounded to 5 s, checked as each line arrives. */
async function waitForLine(lines: { msg: string }[], msg: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!lines.some((l) => l.msg === msg)) {
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line within 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

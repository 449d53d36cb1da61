import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/use-cluster.js';

// A full disk (issue #14, 15): the leader's data directory on a small tmpfs the test mounts
// itself, filled up. A write that cannot be saved is answered 507 / RESOURCE_EXHAUSTED with
// a message that says so, the leader stops, and every task it acknowledged before is kept.

/** Mounts a 16 MiB tmpfs, or says why it cannot (not root, no mount permission). */
function mountSmallDisk(): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-full-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim()})`;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes filler files until the file system refuses (bounded: 16 MiB in 64 KiB pieces). */
function fill(dir: string): void {
  const piece = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 1024; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), piece);
    } catch {
      return;
    }
  }
  throw new Error('the disk never filled');
}

const disk = mountSmallDisk();
// Mounted when the file loads, so unmounted when it is done, whatever ran.
afterAll(() => {
  if (typeof disk !== 'string') disk.unmount();
});

describe.skipIf(typeof disk === 'string')(
  `a full disk${typeof disk === 'string' ? ` (skipped: ${disk})` : ''}`,
  () => {
    const { cluster } = useCluster();

    it('answers 507 / RESOURCE_EXHAUSTED saying the disk is full, and loses nothing acknowledged', async () => {
      if (typeof disk === 'string') return;
      const dataDir = join(disk.dir, 'data');
      const first = await cluster().startLeader(['--data-dir', dataDir]);
      const post = (id: string) =>
        fetch(`${first.http}/v1/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, payload: 'x'.repeat(64 * 1024) }),
        });
      expect((await post('kept')).status).toBe(201);

      fill(disk.dir);
      // Each refused write may still find a page free; within a few the disk is full.
      let refused: Response | undefined;
      for (let i = 0; i < 50 && refused === undefined; i++) {
        const answer = await post(`lost-${i}`);
        if (answer.status !== 201) refused = answer;
      }
      expect(refused?.status).toBe(507);
      expect(await refused?.json()).toEqual({
        error: "the leader's disk is full: the change was not saved, and the leader has stopped",
      });
      const { code } = await first.process.exited;
      expect(code).toBe(1);
      // Its last word is one line saying why, not a stack trace.
      expect(first.process.raw.filter((l) => l.startsWith('[stderr]'))).toEqual([
        '[stderr] drover: the leader stopped: its store failed: database or disk is full',
      ]);

      // Room again: a new leader on the same directory has every acknowledged task.
      execFileSync('sh', ['-c', `rm -f ${disk.dir}/filler-*`]);
      const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
      const list = (await (await fetch(`${second.http}/v1/tasks?pageSize=1000`)).json()) as {
        tasks: { id: string }[];
      };
      expect(list.tasks.map((t) => t.id)).toContain('kept');
    });

    it('says the file system is read-only when the store is on one, and exits 1 at start', async () => {
      if (typeof disk === 'string') return;
      const dataDir = join(disk.dir, 'read-only');
      const first = await cluster().startLeader(['--data-dir', dataDir], 'leader-ro-1');
      first.process.kill('SIGTERM');
      expect((await first.process.exited).code).toBe(0);
      execFileSync('mount', ['-o', 'remount,ro', disk.dir]);
      try {
        const leader = cluster().spawn('leader-ro-2', [
          'leader',
          '--listen',
          '127.0.0.1:0',
          '--data-dir',
          dataDir,
        ]);
        expect((await leader.exited).code).toBe(1);
        expect(leader.raw.filter((l) => l.startsWith('[stderr]'))).toEqual([
          `[stderr] drover: cannot use ${join(dataDir, 'drover.sqlite')}: ${join(dataDir, 'drover.sqlite')} is on a read-only file system`,
        ]);
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', disk.dir]);
      }
    });
  },
);

import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Issue #20: commands are allow-listed by exact path. Each listed name is resolved once,
// when the worker starts, in the PATH commands get (not the worker's own), and runs by
// that absolute path; a listed command that is not there stops the start.

describe('command allow-list by path', () => {
  const { cluster, clients } = useCluster();

  it('runs the system echo for "echo" though the worker\'s PATH starts with a planted one', async () => {
    const planted = mkdtempSync(join(tmpdir(), 'drover-planted-'));
    const marker = join(planted, 'planted-echo-ran');
    writeFileSync(join(planted, 'echo'), `#!/bin/sh\ntouch ${marker}\necho planted\n`);
    chmodSync(join(planted, 'echo'), 0o755);
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const saved = process.env['PATH'];
    process.env['PATH'] = `${planted}:${saved ?? ''}`; // the worker inherits it
    try {
      await cluster().startWorker(address, 'w', ['--allow-command', 'echo']);
    } finally {
      process.env['PATH'] = saved;
    }
    const api = clients(address);
    const ended = (id: string) =>
      waitFor(
        async () => {
          const task = await api.task(id);
          return (
            (task.status === TaskStatus.TASK_STATUS_COMPLETED ||
              task.status === TaskStatus.TASK_STATUS_ERROR) &&
            task
          );
        },
        { timeoutMs: 10_000, what: `task ${id} ended` },
      );
    const byName = await ended(await api.schedule({ kind: 'command', payload: 'echo hello' }));
    expect(byName.status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    expect(JSON.parse(byName.result!)).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    expect(existsSync(marker)).toBe(false);

    // The planted file by its path is not the listed command; the resolved path is.
    const byPath = await ended(
      await api.schedule({ kind: 'command', payload: `${planted}/echo x`, maxAttempts: 1 }),
    );
    expect(byPath.status).toBe(TaskStatus.TASK_STATUS_ERROR);
    expect(byPath.error).toMatch(
      /is not allow-listed on worker w \(allowed: echo \(\/usr\/bin\/echo\)\)/,
    );
    const resolved = await ended(
      await api.schedule({ kind: 'command', payload: '/usr/bin/echo resolved' }),
    );
    expect(JSON.parse(resolved.result!)).toMatchObject({ stdout: 'resolved\n' });
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    [
      'a command that is not installed',
      'no-such-command-here',
      /not found in the PATH commands get/,
    ],
    ['a relative path', 'bin/echo', /not a relative one/],
    ['a path with ..', '/usr/bin/../bin/echo', /give the path as it is \(\/usr\/bin\/echo\)/],
    ['a path to a file that is not executable', 'NOT_EXECUTABLE', /no executable file there/],
    ['a path to a directory', '/usr/bin', /no executable file there/],
  ])('exits 2 at start, with one clear line, for %s', async (_what, listed, message) => {
    const plain = join(mkdtempSync(join(tmpdir(), 'drover-plain-')), 'data.txt');
    writeFileSync(plain, 'not a program\n', { mode: 0o644 });
    const command = listed === 'NOT_EXECUTABLE' ? plain : listed;
    const worker = cluster().spawn('w', [
      ...['worker', '--leader', '127.0.0.1:1', '--allow-command', command],
    ]);
    const { code } = await worker.exited;
    expect(code).toBe(2);
    expect(worker.raw.join('\n')).toMatch(message);
  });
});

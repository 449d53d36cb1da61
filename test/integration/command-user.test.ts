import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createToken, drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Issue #20: a command run as the worker's user shares its trust (it can read the worker's
// /proc entries, where a join token lives). --command-user runs commands as another user,
// and --token-file keeps the token off the command line that `ps` shows every user.
// Switching users needs root, as this machine and CI run; elsewhere the test skips.

const root = process.getuid?.() === 0;
/** A token file others may read (written by the test that uses it). */
const OPEN_FILE = join(mkdtempSync(join(tmpdir(), 'drover-open-')), 'token');

describe.skipIf(!root)('commands as another user, and the join token off the command line', () => {
  const { cluster } = useCluster();

  it("runs commands as --command-user: they cannot read the worker's environment; the token file keeps the token out of ps", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-user-'));
    const tokens = join(dir, 'tokens.json');
    const write = await createToken(tokens, 'write');
    // The join token goes straight into a file only its owner reads (--out), never printed.
    const tokenFile = join(dir, 'join-token');
    const made = await drover(
      ...['token', 'create', '--role', 'worker', '--tokens-file', tokens, '--out', tokenFile],
    );
    expect(made).toMatchObject({ code: 0, stdout: '' });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const joinToken = readFileSync(tokenFile, 'utf8').trim();
    const { address, http } = await cluster().startLeader([
      ...['--store', 'memory', '--tokens-file', tokens],
    ]);
    const worker = await cluster().startWorker(address, 'w1', [
      ...['--token-file', tokenFile, '--command-user', 'nobody'],
      ...['--allow-command', 'id', '--allow-command', 'cat', '--command-cwd', '/'],
    ]);
    // Nothing on its command line shows the token.
    expect(readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8')).not.toContain(joinToken);

    const run = async (id: string, payload: string) => {
      const scheduled = await drover(
        ...['schedule', '--leader', address, '--token', write],
        ...['--kind', 'command', '--id', id, '--max-attempts', '1', payload],
      );
      expect(scheduled.code).toBe(0);
      return waitFor(
        async () => {
          const response = await fetch(`${http}/v1/tasks/${id}`, {
            headers: { authorization: `Bearer ${write}` },
          });
          const task = (await response.json()) as {
            status: string;
            result?: string;
            error?: string;
          };
          return task.status === 'TASK_STATUS_COMPLETED' || task.status === 'TASK_STATUS_ERROR'
            ? task
            : undefined;
        },
        { timeoutMs: 10_000, what: `command task ${id} ended` },
      );
    };
    const id = await run('whoami', 'id -u');
    expect(id.status).toBe('TASK_STATUS_COMPLETED');
    expect(JSON.parse(id.result!)).toMatchObject({ stdout: '65534\n' });
    // The worker's /proc/PID/environ is not the command's to read.
    const peek = await run('peek', `cat /proc/${worker.pid}/environ`);
    expect(peek.status).toBe('TASK_STATUS_ERROR');
    expect(peek.result ?? '').toMatch(/Permission denied/);
  });

  it('refuses --command-user root, an unknown user, and --token with --token-file, at start', async () => {
    writeFileSync(OPEN_FILE, 'drv_readable-by-all\n', { mode: 0o644 });
    for (const [args, message] of [
      [['--command-user', 'root', '--allow-command', 'id'], /is root/],
      [['--command-user', 'no-such-user-here', '--allow-command', 'id'], /no such user/],
      [
        ['--token', 'drv_x', '--token-file', '/etc/hostname'],
        /give --token or --token-file, not both/,
      ],
      [['--token-file', '/nonexistent/token'], /--token-file \/nonexistent\/token: ENOENT/],
      [['--token-file', OPEN_FILE], /can be read by other users \(mode 644\): chmod 600/],
      [['--command-user', '65534:0', '--allow-command', 'id'], /in root's group/],
    ] as const) {
      const worker = cluster().spawn('w', ['worker', '--leader', '127.0.0.1:1', ...args]);
      const { code } = await worker.exited;
      expect(code, args.join(' ')).toBe(2);
      expect(worker.raw.join('\n'), args.join(' ')).toMatch(message);
    }
  });
});

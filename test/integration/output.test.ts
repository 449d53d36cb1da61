import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { DROVER_BIN, waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Task output: a command's stdout/stderr and SDK log lines, read while the task runs and
// after, over HTTP, gRPC (drover logs) and bounded in size.

const script = (text: string) => JSON.stringify({ command: 'sh', args: ['-c', text] });

describe('task output', () => {
  const { cluster, clients } = useCluster();

  it('streams a running command’s output over HTTP (follow), then serves it whole', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w', ['--allow-command', 'sh']);
    const api = clients(address);
    // The command waits for a file the test makes, so "running" is certain, not timed.
    const gate = `/tmp/drover-gate-${process.pid}-${Date.now()}`;
    const id = await api.schedule({
      kind: 'command',
      payload: script(
        `echo one; echo oops >&2; i=0; while [ ! -e ${gate} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo two; rm -f ${gate}`,
      ),
    });
    const response = await fetch(`${http}/v1/tasks/${id}/output?follow=true`, {
      signal: AbortSignal.timeout(15_000),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let gateOpened = false;
    // Bounded: the command ends within 10 s whatever happens, and the stream with it.
    for (let reads = 0; reads < 1000; reads++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.includes('one\n') && !text.includes('two') && !gateOpened) {
        gateOpened = true;
        // Read while it runs: the task is still running now.
        expect((await api.task(id)).status).toBe(TaskStatus.TASK_STATUS_RUNNING);
        const { writeFileSync } = await import('node:fs');
        writeFileSync(gate, '');
      }
    }
    // The handler's own log line (through the SDK logger) comes first, then the command's.
    expect(text).toMatch(/^INFO command started \{"command":"sh","pid":\d+\}\none\noops\ntwo\n$/);
    expect((await api.task(id)).status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    const whole = await fetch(`${http}/v1/tasks/${id}/output`);
    expect(await whole.text()).toBe(text);
    const tail = await fetch(`${http}/v1/tasks/${id}/output?offset=${text.length - 9}`);
    expect(await tail.text()).toBe('oops\ntwo\n');
    // As NDJSON, each piece whole (attempt, stream), as curl with its default headers sees it.
    const pieces = execFileSync(
      'curl',
      ['-sS', `${http}/v1/tasks/${id}/output?format=ndjson&offset=4`],
      {
        encoding: 'utf8',
      },
    );
    const lines = pieces
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l['data']).join('')).toBe(text.slice(4));
    expect(lines.find((l) => l['data'] === 'oops\n')).toEqual({
      offset: text.indexOf('oops'),
      attempt: 1,
      stream: 'stderr',
      data: 'oops\n',
      truncated: false,
    });
    expect((await fetch(`${http}/v1/tasks/nope/output`)).status).toBe(404);
  });

  it('drover logs prints output, and --follow streams it until the task finishes', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w');
    const api = clients(address);
    // The demo handler logs its progress through the SDK logger: those lines are output.
    const id = await api.schedule({ payload: '800' });
    const follow = cluster().spawn('logs', ['logs', id, '--follow', '--leader', address]);
    const { code } = await follow.exited;
    expect(code).toBe(0);
    const followed = follow.raw.filter((line) => !line.startsWith('[stderr]'));
    expect(followed).toEqual([
      'INFO demo task working {"progress":"25%"}',
      'INFO demo task working {"progress":"50%"}',
      'INFO demo task working {"progress":"75%"}',
      'INFO demo task working {"progress":"100%"}',
    ]);
    expect((await api.task(id)).status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    const after = cluster().spawn('logs2', ['logs', id, '--leader', address]);
    expect((await after.exited).code).toBe(0);
    expect(after.raw).toEqual(followed);
  });

  // script(1) (util-linux, on every Debian) gives the CLI a pseudo-terminal.
  it.runIf(spawnSync('script', ['--version']).status === 0)(
    'drover logs marks where each attempt begins at a terminal, and not into a pipe',
    async () => {
      const { address } = await cluster().startLeader(['--store', 'memory']);
      await cluster().startWorker(address, 'w', ['--allow-command', 'sh']);
      const api = clients(address);
      const id = await api.schedule({
        kind: 'command',
        payload: script('echo half way; exit 3'),
        maxAttempts: 2,
        retryBackoffMs: 1,
      });
      await waitFor(async () => (await api.task(id)).status === TaskStatus.TASK_STATUS_ERROR, {
        timeoutMs: 10_000,
        what: 'both attempts failed',
      });
      const logs = [process.execPath, DROVER_BIN, 'logs', id, '--leader', address];
      const piped = execFileSync(logs[0]!, logs.slice(1), { encoding: 'utf8' });
      expect(piped).toMatch(
        /^INFO command started .*\nhalf way\nINFO command started .*\nhalf way\n$/,
      );
      // script(1) runs it on a pseudo-terminal (which writes \r\n for \n).
      const atTerminal = execFileSync('script', ['-qec', logs.join(' '), '/dev/null'], {
        encoding: 'utf8',
        timeout: 20_000,
      }).replaceAll('\r\n', '\n');
      expect(atTerminal).toMatch(
        /^INFO command started .*\nhalf way\n── attempt 2 ──\nINFO command started .*\nhalf way\n$/,
      );
    },
  );

  it('keeps at most --max-output-chars per task, with a marker where it was cut', async () => {
    const { address, http } = await cluster().startLeader([
      '--store',
      'memory',
      '--max-output-chars',
      '50',
    ]);
    await cluster().startWorker(address, 'w', ['--allow-command', 'sh']);
    const api = clients(address);
    const id = await api.schedule({
      kind: 'command',
      payload: script('for i in $(seq 1 40); do echo line-$i; done'),
    });
    await waitFor(async () => (await api.task(id)).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5000,
      what: 'done',
    });
    const text = await (await fetch(`${http}/v1/tasks/${id}/output`)).text();
    expect(text).toMatch(/^INFO command started .*\n/);
    expect(text).toMatch(/\[output truncated: over 50 characters\]\n$/);
    expect(text.length).toBeLessThan(50 + 60);
  });

  it('sends large output in pieces the leader accepts, even with a small message limit', async () => {
    // The leader takes messages up to its payload limit plus 64 KiB: 65 KiB here.
    const { address, http } = await cluster().startLeader([
      '--store',
      'memory',
      '--max-payload-bytes',
      '1024',
    ]);
    await cluster().startWorker(address, 'w', ['--allow-command', 'sh']);
    const api = clients(address);
    const id = await api.schedule({
      kind: 'command',
      payload: script("head -c 300000 /dev/zero | tr '\\0' x"),
    });
    await waitFor(async () => (await api.task(id)).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 10_000,
      what: 'done',
    });
    const text = await (await fetch(`${http}/v1/tasks/${id}/output`)).text();
    const body = text.split('\n')[1]!;
    expect({ length: body.length, onlyX: /^x*$/.test(body) }).toEqual({
      length: 300_000,
      onlyX: true,
    });
    // The worker never lost its stream.
    expect((await api.member('w'))?.status).toBe('alive');
  });

  it('keeps a task’s output through a leader crash (it is in the durable store)', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    await cluster().startWorker(first.address, 'w', ['--allow-command', 'sh']);
    const api = clients(first.address);
    const id = await api.schedule({ kind: 'command', payload: script('echo before the crash') });
    await waitFor(async () => (await api.task(id)).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5000,
      what: 'done',
    });
    const before = await (await fetch(`${first.http}/v1/tasks/${id}/output`)).text();
    expect(before).toMatch(/before the crash\n$/);
    first.process.kill('SIGKILL');
    await first.process.exited;
    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    expect(await (await fetch(`${second.http}/v1/tasks/${id}/output`)).text()).toBe(before);
  });
});

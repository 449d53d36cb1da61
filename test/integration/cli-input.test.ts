import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DROVER_BIN, waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

/** What a finished CLI process left behind. */
interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface RunOptions {
  /** Written to the child's stdin, which is then closed; without it stdin is empty. */
  readonly input?: string | Buffer;
  readonly env?: Record<string, string>;
  /** Close our end of the child's stdout before it writes anything (a reader that left). */
  readonly closeStdout?: boolean;
  readonly timeoutMs?: number;
}

/** Runs a command to its end (bounded), with no output size limit. */
function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // The child may exit before reading its input; that is not this test's failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    const timeoutMs = options.timeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${Buffer.concat(stderr).toString()}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        code,
        signal,
      });
    });
  });
}

/** Runs the real `drover` CLI. */
function drover(args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  return run(process.execPath, [DROVER_BIN, ...args], options);
}

/**
 * Runs `drover` through `sh -c SCRIPT` so the script can pass bytes that are not UTF-8
 * (`"$(printf '\377')"`), which a JavaScript string argument cannot carry. In SCRIPT, `$@`
 * is `node bin/drover.js`.
 */
function droverInShell(script: string): Promise<Ran> {
  return run('sh', ['-c', script, 'sh', process.execPath, DROVER_BIN]);
}

/** A JavaScript stack frame, as Node prints them. */
const STACK_FRAME = /^\s+at /m;

describe('drover CLI input checks', () => {
  const { cluster } = useCluster();
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-cli-input-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses out-of-range numbers with exit 2 and the option and its range, before any call', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const L = ['--leader', address];
    const cases: [string[], RegExp][] = [
      [
        ['schedule', ...L, '--attempt-timeout-ms', '4294967296', 'x'],
        /option '--attempt-timeout-ms <ms>' argument '4294967296' is invalid\. expected a whole number from 0 to 604800000/,
      ],
      [
        ['schedule', ...L, '--max-attempts', '4294967296', 'x'],
        /option '--max-attempts <n>' argument '4294967296' is invalid\. expected a whole number from 1 to 1000/,
      ],
      [
        ['schedule', ...L, '--max-attempts', '0', 'x'],
        /option '--max-attempts <n>' .* from 1 to 1000/,
      ],
      [
        ['schedule', ...L, '--retry-backoff-ms', '4294967296', 'x'],
        /option '--retry-backoff-ms <ms>' .* from 0 to 86400000/,
      ],
      [['schedule', ...L, '--retry-backoff-ms', '-1', 'x'], /--retry-backoff-ms/],
      [['schedule', ...L, '--attempt-timeout-ms', '1.5', 'x'], /--attempt-timeout-ms/],
      [
        ['schedule', ...L, '--priority', '4294967296', 'x'],
        /Allowed choices are low, medium, high/,
      ],
      [
        ['tasks', ...L, '--limit', '4294967296'],
        /option '--limit <n>' argument '4294967296' is invalid\. expected a whole number from 1 to 4294967295/,
      ],
      [
        ['members', ...L, '--timeout-ms', '4294967296'],
        /option '--timeout-ms <ms>' .* from 1 to 2147483647/,
      ],
      [['dev', '--slots', '4294967296'], /option '--slots <n>' .* from 1 to 10000/],
      [['dev', '--workers', '101'], /option '--workers <n>' .* from 1 to 100/],
      // An empty value (an unset shell variable) never means "none".
      ...['--id', '--idempotency-key', '--kind', '--target', '--concurrency-key'].map(
        (flag): [string[], RegExp] => [
          ['schedule', ...L, flag, '', 'x'],
          new RegExp(`option '${flag} <\\w+>' argument '' is invalid\\. must not be empty`),
        ],
      ),
      [
        ['cron', 'add', 'n1', '* * * * *', '1', ...L, '--tz', ''],
        /'--tz <zone>' argument '' is invalid\. must not be empty/,
      ],
      [['pause', ...L, '--key', ''], /'--key <key>' argument '' is invalid\. must not be empty/],
      [
        ['schedule', ...L, '--at', '2999-01-01T00:00:00Z', 'x'],
        /'--at <time>' argument '2999-01-01T00:00:00Z' is invalid\. .* more than 366 days ahead/,
      ],
      [
        ['schedule', ...L, '--wait-timeout', '25d', 'x'],
        /'--wait-timeout <duration>' argument '25d' is invalid\. "25d" is out of range: 1ms to 24d/,
      ],
      [
        ['limits', 'set', 'k', ...L, '--rate', '5/S'],
        /option '--rate <n\/interval>' argument '5\/S' is invalid/,
      ],
    ];
    // Four CLI processes at a time: one after another, the cases took most of the test's
    // 30 s on a loaded 2-core machine.
    const runs = new Map<string[], Awaited<ReturnType<typeof drover>>>();
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const ran = await Promise.all(batch.map(([args]) => drover(args)));
      batch.forEach(([args], j) => runs.set(args, ran[j]!));
    }
    for (const [args, message] of cases) {
      const ran = runs.get(args)!;
      expect({ args, code: ran.code, stdout: ran.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(ran.stderr).toMatch(message);
      // It names the help of the command that refused it.
      expect(ran.stderr).toMatch(new RegExp(`\\(see drover ${args[0]}( set| add)? --help\\)\n$`));
      expect(ran.stderr).not.toMatch(STACK_FRAME);
      expect(ran.stderr).not.toMatch(/INTERNAL|uint32/);
    }
    // From the environment too, naming the variable.
    const fromEnv = await drover(['tasks', ...L], { env: { DROVER_LIST_LIMIT: '4294967296' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/--limit <n>.*'4294967296' from env 'DROVER_LIST_LIMIT'/);

    // Nothing reached the leader (an empty list).
    const listed = await drover(['tasks', ...L, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ tasks: [] });

    // The ends of each range are accepted and arrive as given.
    const edge = await drover([
      'schedule',
      ...L,
      '--id',
      'edge',
      '--max-attempts',
      '1000',
      '--retry-backoff-ms',
      '86400000',
      '--attempt-timeout-ms',
      '604800000',
      '--timeout-ms',
      '2147483647',
      'x',
    ]);
    expect(edge).toMatchObject({ code: 0, stdout: 'edge\n', stderr: '' });
    const task = JSON.parse((await drover(['task', ...L, 'edge', '--json'])).stdout) as object;
    expect(task).toMatchObject({
      maxAttempts: 1000,
      retryBackoffMs: 86400000,
      timeoutMs: 604800000,
    });
  });

  it('schedules a 2 MB payload from --payload-file, from - and from --payload-file - byte for byte', async () => {
    const { address } = await cluster().startLeader([
      '--store',
      'memory',
      '--max-payload-bytes',
      '3000000',
    ]);
    const L = ['--leader', address];
    // Two-byte characters and a trailing newline: nothing may be re-encoded or trimmed.
    const payload = `${'é'.repeat(1_000_000)}\n`;
    const file = join(dir, 'payload.txt');
    writeFileSync(file, payload);

    const sources: [string, string[], RunOptions][] = [
      ['file', ['--payload-file', file], {}],
      ['dash', ['-'], { input: payload }],
      ['file-dash', ['--payload-file', '-'], { input: payload }],
    ];
    for (const [id, args, options] of sources) {
      const ran = await drover(['schedule', ...L, '--id', id, ...args], options);
      expect({ id, ...ran }).toEqual({ id, code: 0, signal: null, stdout: `${id}\n`, stderr: '' });
      const shown = await drover(['task', ...L, id, '--json']);
      expect((JSON.parse(shown.stdout) as { payload: string }).payload === payload).toBe(true);
    }
  });

  it('refuses no payload, two payloads, unreadable files and payloads that are not UTF-8 with exit 2', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const L = ['--leader', address];
    const invalid = join(dir, 'invalid.bin');
    writeFileSync(invalid, Buffer.from([0x61, 0xff, 0x62]));
    // An encoded surrogate (U+D800 as ED A0 80) is not UTF-8 either.
    const surrogate = join(dir, 'surrogate.bin');
    writeFileSync(surrogate, Buffer.from([0xed, 0xa0, 0x80]));
    const cases: [string[], RunOptions, string][] = [
      [
        [],
        {},
        'drover: no payload: give it as the PAYLOAD argument, as - to read stdin, or with --payload-file FILE\n',
      ],
      [
        ['x', '--payload-file', invalid],
        {},
        'drover: give the payload once: as the PAYLOAD argument (- reads stdin) or with --payload-file, not both\n',
      ],
      [
        ['-', '--payload-file', '-'],
        { input: 'x' },
        'drover: give the payload once: as the PAYLOAD argument (- reads stdin) or with --payload-file, not both\n',
      ],
      [
        ['--payload-file', join(dir, 'missing.txt')],
        {},
        `drover: cannot read --payload-file ${join(dir, 'missing.txt')}: no such file\n`,
      ],
      [
        ['--payload-file', dir],
        {},
        `drover: cannot read --payload-file ${dir}: it is a directory\n`,
      ],
      [
        ['--payload-file', invalid],
        {},
        `drover: --payload-file ${invalid} is not valid UTF-8 text: a payload must be UTF-8 text (encode binary data first, for example as base64)\n`,
      ],
      [
        ['--payload-file', surrogate],
        {},
        `drover: --payload-file ${surrogate} is not valid UTF-8 text: a payload must be UTF-8 text (encode binary data first, for example as base64)\n`,
      ],
      [
        ['-'],
        { input: Buffer.from([0x61, 0xff, 0x62]) },
        'drover: stdin is not valid UTF-8 text: a payload must be UTF-8 text (encode binary data first, for example as base64)\n',
      ],
    ];
    for (const [args, options, stderr] of cases) {
      const ran = await drover(['schedule', ...L, ...args], options);
      expect({ args, ...ran }).toEqual({ args, code: 2, signal: null, stdout: '', stderr });
    }
    const listed = await drover(['tasks', ...L, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ tasks: [] });
  });

  it('refuses arguments and DROVER_ variables that are not valid UTF-8 with exit 2', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const rule =
      'must be valid UTF-8 (invalid bytes show up as U+FFFD, which drover refuses rather than send altered text)';

    const payload = await droverInShell(
      `exec "$@" schedule --leader ${address} "$(printf 'a\\377b')"`,
    );
    expect(payload).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `drover: argument 4 ("a\\ufffdb") is not valid UTF-8 text; arguments ${rule}\n`,
    });
    const id = await droverInShell(
      `exec "$@" schedule --leader ${address} --id "$(printf '\\377')" x`,
    );
    expect(id).toMatchObject({
      code: 2,
      stderr: `drover: argument 5 ("\\ufffd" after --id) is not valid UTF-8 text; arguments ${rule}\n`,
    });
    // Half of a two-byte character, as in a truncated copy-paste.
    const shown = await droverInShell(`exec "$@" task --leader ${address} "$(printf 'x\\303')"`);
    expect(shown.code).toBe(2);
    expect(shown.stderr).toMatch(/^drover: argument 4 \("x\\ufffd"\) is not valid UTF-8 text/);
    const env = await droverInShell(`DROVER_LEADER="$(printf '\\377')" exec "$@" members`);
    expect(env).toMatchObject({
      code: 2,
      stderr: `drover: environment variable DROVER_LEADER ("\\ufffd") is not valid UTF-8 text; its value ${rule}\n`,
    });

    // Nothing was scheduled; valid non-ASCII text still passes.
    const listed = await drover(['tasks', '--leader', address, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ tasks: [] });
    expect(
      await drover(['schedule', '--leader', address, '--id', 'é-😀', 'naïve ✓']),
    ).toMatchObject({ code: 0, stdout: 'é-😀\n' });
  });

  it('exits quietly with status 0 when the reader of stdout goes away (EPIPE)', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    const L = ['--leader', address];
    // Enough output (over 1 MB of JSON) that `head -1` leaves long before drover is done.
    const bulk = join(dir, 'bulk.txt');
    writeFileSync(bulk, 'x'.repeat(300_000));
    for (let i = 0; i < 4; i++) {
      const ran = await drover(['schedule', ...L, '--kind', 'none', '--payload-file', bulk]);
      expect(ran.code).toBe(0);
    }
    const logged = (await drover(['schedule', ...L, '--kind', 'demo', '400'])).stdout.trim();
    const logs = await waitFor(
      async () => {
        const ran = await drover(['logs', ...L, logged]);
        return ran.stdout.includes('demo task working') && ran;
      },
      { timeoutMs: 10_000, what: 'demo task output' },
    );
    expect(logs.code).toBe(0);

    const piped = await run('bash', [
      '-c',
      '"$@" | head -1; echo "drover exited ${PIPESTATUS[0]}" >&2',
      'bash',
      process.execPath,
      DROVER_BIN,
      'tasks',
      ...L,
      '--json',
    ]);
    expect(piped).toMatchObject({ code: 0, stdout: '{\n', stderr: 'drover exited 0\n' });

    const commands = [
      ['tasks', ...L],
      ['tasks', ...L, '--json'],
      ['members', ...L],
      ['watch', ...L, '--json'],
      ['watch', ...L],
      ['logs', ...L, logged],
      ['logs', ...L, logged, '--json'],
      ['task', ...L, logged],
      ['schedule', ...L, '5'],
    ];
    for (const args of commands) {
      const ran = await drover(args, { closeStdout: true });
      expect({ args, code: ran.code, signal: ran.signal, stderr: ran.stderr }).toEqual({
        args,
        code: 0,
        signal: null,
        stderr: '',
      });
    }
  });

  it('answers refusals from the leader with one line, exit 1, and never a stack trace', async () => {
    const { address } = await cluster().startLeader([
      '--store',
      'memory',
      '--max-payload-bytes',
      '10',
    ]);
    const L = ['--leader', address];
    expect(await drover(['schedule', ...L, '--id', 'dup', 'x'])).toMatchObject({ code: 0 });
    const cases: [string[], string][] = [
      [['task', ...L, 'missing'], 'task missing not found (NOT_FOUND)'],
      [['cancel', ...L, 'missing'], 'task missing not found (NOT_FOUND)'],
      [['drain', ...L, 'nobody'], 'member nobody not found (NOT_FOUND)'],
      [['logs', ...L, 'missing'], 'task missing not found (NOT_FOUND)'],
      [['task', ...L, ''], 'task id must not be empty (INVALID_ARGUMENT)'],
      [
        ['tasks', ...L, '--page-token', 'zz'],
        'page_token is not one this leader gave out (INVALID_ARGUMENT)',
      ],
      [['schedule', ...L, '--id', 'dup', 'x'], 'task dup already exists (ALREADY_EXISTS)'],
      [
        ['schedule', ...L, '12345678901'],
        'task payload is 11 bytes; the limit is 10 (RESOURCE_EXHAUSTED)',
      ],
    ];
    for (const [args, message] of cases) {
      const ran = await drover(args);
      expect({ args, code: ran.code, stderr: ran.stderr }).toEqual({
        args,
        code: 1,
        stderr: `drover: ${message}\n`,
      });
    }
    // Settings the CLI cannot use are usage errors (2), not crashes.
    const tls = await drover(['members', ...L, '--tls-ca', join(dir, 'missing.pem')]);
    expect(tls.code).toBe(2);
    expect(tls.stderr).toMatch(/^drover: --tls-ca \S*missing\.pem: ENOENT.*missing\.pem'\n$/);
    // Nothing listens on port 1.
    const down = await drover(['tasks', '--leader', '127.0.0.1:1', '--timeout-ms', '1000']);
    expect(down.code).toBe(3);
    expect(down.stderr).not.toMatch(STACK_FRAME);
  });
});

import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  afterExit,
  commandEnv,
  commandHandler,
  COMMAND_PATH,
  parseCommandPayload,
  type ExitingChild,
} from '../../../src/worker/handlers/command.js';
import { CommandAllowList } from '../../../src/worker/handlers/command-allow-list.js';
import { commandUser } from '../../../src/worker/handlers/command-user.js';
import type { TaskContext } from '../../../src/worker/runner.js';
import { PermanentTaskError } from '../../../src/worker/task-error.js';
import { FakeTimers } from './fake-timers.js';

/** A spawned command as afterExit sees it: events fired by the test, pipes that record. */
function fakeChild() {
  const events = new EventEmitter();
  const destroyed: string[] = [];
  const child = Object.assign(events, {
    stdout: { destroy: () => void destroyed.push('stdout') },
    stderr: { destroy: () => void destroyed.push('stderr') },
  });
  return { child: child as unknown as ExitingChild, events, destroyed };
}

function watch(stdioWaitMs = 500) {
  const timers = new FakeTimers();
  const { child, events, destroyed } = fakeChild();
  const calls: string[] = [];
  afterExit(
    child,
    { timers, stdioWaitMs },
    () => calls.push('exited'),
    (code, signal) => calls.push(`ended ${code} ${signal}`),
  );
  return { timers, events, destroyed, calls };
}

describe('afterExit', () => {
  it('ends at once when the pipes closed before the exit', () => {
    const { events, calls, timers } = watch();
    events.emit('close');
    events.emit('exit', 0, null);
    expect(calls).toEqual(['exited', 'ended 0 null']);
    expect(timers.pending).toEqual([]);
  });

  it('ends when the pipes close after the exit, and cancels the wait', () => {
    const { events, calls, timers, destroyed } = watch();
    events.emit('exit', 3, null);
    expect(calls).toEqual(['exited']);
    timers.advance(499);
    events.emit('close');
    expect(calls).toEqual(['exited', 'ended 3 null']);
    expect(timers.pending).toEqual([]);
    expect(destroyed).toEqual([]);
  });

  it('destroys pipes a background child holds open, once the wait is over', () => {
    const { events, calls, timers, destroyed } = watch(500);
    events.emit('exit', null, 'SIGTERM');
    timers.advance(499);
    expect(calls).toEqual(['exited']);
    timers.advance(1);
    expect(destroyed).toEqual(['stdout', 'stderr']);
    expect(calls).toEqual(['exited', 'ended null SIGTERM']);
  });
});

describe('parseCommandPayload', () => {
  it('reads JSON or a plain line, with no shell', () => {
    expect(parseCommandPayload('{"command":"ls","args":["-l"],"cwd":"/tmp"}')).toEqual({
      command: 'ls',
      args: ['-l'],
      cwd: '/tmp',
    });
    expect(parseCommandPayload('  echo a  b ')).toEqual({ command: 'echo', args: ['a', 'b'] });
  });

  it.each([
    ['{', 'command payload is not valid JSON'],
    ['{"args":[]}', 'command payload needs a "command" string'],
    ['{"command":"ls","args":[1]}', 'command payload "args" must be an array of strings'],
    ['{"command":"ls","cwd":1}', 'command payload "cwd" must be a string'],
    ['   ', 'command payload is empty'],
    [
      '{"command":"ls","env":{"A":"1"}}',
      'command payload has unknown field "env" (fields: command, args, cwd)',
    ],
  ])('refuses %j for good', (payload, message) => {
    expect(() => parseCommandPayload(payload)).toThrow(new PermanentTaskError(message));
  });
});

/** A command task with `payload`, as the runner hands it to the handler. */
function commandTask(payload: string): TaskContext {
  return {
    id: 't',
    attempt: 1,
    kind: 'command',
    payload,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    write: () => {},
  };
}

/** An allow-list of `ls`, found in /usr/bin by a probe that knows only that file. */
const onlyLs = () => CommandAllowList.resolve(['ls'], '/usr/bin', (p) => p === '/usr/bin/ls');

describe('CommandAllowList', () => {
  const files = new Set(['/usr/local/bin/tool', '/usr/bin/tool', '/usr/bin/ls', '/opt/x/run']);
  const probe = (path: string) => files.has(path);

  it('resolves a bare name in PATH order, once, and runs a path as listed', () => {
    const list = CommandAllowList.resolve(['tool', '/opt/x/run'], '/usr/local/bin:/usr/bin', probe);
    expect(list.pathOf('tool')).toBe('/usr/local/bin/tool');
    // The listed name's resolved path is the same command.
    expect(list.pathOf('/usr/local/bin/tool')).toBe('/usr/local/bin/tool');
    expect(list.pathOf('/opt/x/run')).toBe('/opt/x/run');
    // Exact only: another file of the same name, or a listed path by its bare name, is not.
    expect(list.pathOf('/usr/bin/tool')).toBeUndefined();
    expect(list.pathOf('run')).toBeUndefined();
    expect(list.pathOf('./tool')).toBeUndefined();
    expect(list.describe()).toBe('tool (/usr/local/bin/tool), /opt/x/run');
  });

  it.each([
    [['nope'], /not found in the PATH commands get \(\/usr\/bin:relative\)/],
    [['bin/ls'], /not a relative one/],
    [['/usr/bin/../bin/ls'], /give the path as it is \(\/usr\/bin\/ls\)/],
    [['/usr/bin//ls'], /give the path as it is/],
    [['/usr/bin/missing'], /no executable file there/],
  ])('refuses %j at start with why', (entries, message) => {
    expect(() => CommandAllowList.resolve(entries, '/usr/bin:relative', probe)).toThrow(message);
  });

  it('skips relative PATH entries (they would depend on the working directory)', () => {
    const cwdFile = (p: string) => p === 'relative/ls';
    expect(() => CommandAllowList.resolve(['ls'], 'relative', cwdFile)).toThrow(/not found/);
  });
});

describe('commandHandler', () => {
  it('refuses a command that is not allow-listed, before running anything', () => {
    const handler = commandHandler({
      allow: onlyLs(),
      outputLimitBytes: 1024,
      memberId: 'w1',
      kill: () => {
        throw new Error('nothing may be signalled');
      },
    });
    const task = commandTask('rm -rf /');
    expect(() => handler(task)).toThrow(
      new PermanentTaskError(
        'command "rm" is not allow-listed on worker w1 (allowed: ls (/usr/bin/ls))',
      ),
    );
  });

  it('refuses a payload that names its own working directory unless the worker allows it', () => {
    const handler = commandHandler({
      allow: onlyLs(),
      outputLimitBytes: 1024,
      memberId: 'w1',
    });
    const task = commandTask('{"command":"ls","cwd":"/etc"}');
    expect(() => handler(task)).toThrow(/does not allow \(--command-allow-cwd\)/);
    const allowing = commandHandler({
      allow: onlyLs(),
      outputLimitBytes: 1024,
      memberId: 'w1',
      allowCwd: true,
    });
    expect(() => allowing(commandTask('{"command":"ls","cwd":"/tmp/a/../../etc"}'))).toThrow(
      /must be given as it is \(\/etc\)/,
    );
  });
});

describe('commandEnv', () => {
  it("gives commands a system PATH and only the variables named, never the worker's others", () => {
    const worker = { PATH: '/home/me/bin:/usr/bin', DROVER_TOKEN: 'drv_secret', LANG: 'C.UTF-8' };
    expect(commandEnv([], worker)).toEqual({ PATH: COMMAND_PATH });
    expect(commandEnv(['LANG', 'MISSING'], worker)).toEqual({
      PATH: COMMAND_PATH,
      LANG: 'C.UTF-8',
    });
    expect(commandEnv(['PATH'], worker)).toEqual({ PATH: '/home/me/bin:/usr/bin' });
  });
});

describe('commandUser', () => {
  const passwd =
    'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n';
  it('reads a name from /etc/passwd or takes uid:gid, as root only, never root itself', () => {
    expect(commandUser('nobody', 0, () => passwd)).toEqual({ uid: 65534, gid: 65534 });
    expect(commandUser('1000:100', 0, () => passwd)).toEqual({ uid: 1000, gid: 100 });
    expect(() => commandUser('nobody', 1000, () => passwd)).toThrow(/must run as root/);
    expect(() => commandUser('root', 0, () => passwd)).toThrow(/is root/);
    expect(() => commandUser('0:0', 0, () => passwd)).toThrow(/is root/);
    expect(() => commandUser('65534:0', 0, () => passwd)).toThrow(/in root's group/);
    expect(() => commandUser('ghost', 0, () => passwd)).toThrow(/no such user/);
  });
});

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

describe('commandHandler', () => {
  it('refuses a command that is not allow-listed, before running anything', () => {
    const handler = commandHandler({
      allow: new Set(['ls']),
      outputLimitBytes: 1024,
      memberId: 'w1',
      kill: () => {
        throw new Error('nothing may be signalled');
      },
    });
    const task = commandTask('rm -rf /');
    expect(() => handler(task)).toThrow(
      new PermanentTaskError('command "rm" is not allow-listed on worker w1 (allowed: ls)'),
    );
  });

  it('refuses a payload that names its own working directory unless the worker allows it', () => {
    const handler = commandHandler({
      allow: new Set(['ls']),
      outputLimitBytes: 1024,
      memberId: 'w1',
    });
    const task = commandTask('{"command":"ls","cwd":"/etc"}');
    expect(() => handler(task)).toThrow(/does not allow \(--command-allow-cwd\)/);
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

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  CappedBuffer,
  captureOutput,
  commandResult,
} from '../../../src/worker/handlers/command-output.js';
import { TaskError } from '../../../src/worker/task-error.js';

function captured(stdout: string, stderr = '', limitBytes = 1024) {
  const out = new CappedBuffer(limitBytes);
  const err = new CappedBuffer(limitBytes);
  out.push(Buffer.from(stdout));
  err.push(Buffer.from(stderr));
  return { stdout: out, stderr: err };
}

describe('CappedBuffer', () => {
  it('keeps the first bytes up to the limit and notes that more came', () => {
    const buffer = new CappedBuffer(5);
    buffer.push(Buffer.from('abc'));
    expect(buffer.truncated).toBe(false);
    buffer.push(Buffer.from('defg'));
    buffer.push(Buffer.from('h'));
    expect(buffer.text()).toBe('abcde');
    expect(buffer.truncated).toBe(true);
  });

  it('is not truncated by output that fills it exactly', () => {
    const buffer = new CappedBuffer(3);
    buffer.push(Buffer.from('abc'));
    expect(buffer.truncated).toBe(false);
  });
});

describe('captureOutput', () => {
  it('sends live output decoded across chunk borders, and keeps it capped', () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const live: [string, string][] = [];
    const kept = captureOutput({ stdout, stderr }, 4, (text, stream) => live.push([stream, text]));
    const euro = Buffer.from('€'); // three bytes
    stdout.emit('data', euro.subarray(0, 2));
    stdout.emit('data', Buffer.concat([euro.subarray(2), Buffer.from('!')]));
    stderr.emit('data', Buffer.from('oops'));
    expect(live).toEqual([
      ['stdout', ''],
      ['stdout', '€!'],
      ['stderr', 'oops'],
    ]);
    expect(kept.stdout.text()).toBe('€!');
    expect(kept.stderr.truncated).toBe(false);
  });
});

describe('commandResult', () => {
  it('is the output as JSON on exit 0', () => {
    expect(JSON.parse(commandResult('ls', 0, null, captured('a\n', 'w')))).toEqual({
      exitCode: 0,
      signal: null,
      stdout: 'a\n',
      stderr: 'w',
      truncated: false,
    });
  });

  it('fails with the output kept on a non-zero exit', () => {
    let thrown: unknown;
    try {
      commandResult('false', 1, null, captured('', 'bad', 2));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TaskError);
    expect((thrown as TaskError).message).toBe('command "false" exited with code 1');
    expect(JSON.parse((thrown as TaskError).output ?? '')).toEqual({
      exitCode: 1,
      signal: null,
      stdout: '',
      stderr: 'ba',
      truncated: true,
    });
  });

  it('names the signal of a killed command', () => {
    expect(() => commandResult('sleep', null, 'SIGKILL', captured(''))).toThrow(
      'command "sleep" was killed by SIGKILL',
    );
  });
});

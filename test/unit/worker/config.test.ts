import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addWorkerOptions, workerConfigFrom } from '../../../src/worker/config.js';

function parse(args: string[]) {
  const command = addWorkerOptions(new Command('worker')).exitOverride();
  command.parse(args, { from: 'user' });
  return workerConfigFrom(command.opts());
}

describe('worker config', () => {
  it('bounds results, handler stops and command kills by default', () => {
    const config = parse([]);
    expect(config.tasks.resultLimitBytes).toBe(1024 * 1024);
    expect(config.tasks.stopGraceMs).toBe(10_000);
    expect(config.commands.killGraceMs).toBe(2_000);
  });

  it('takes the flags', () => {
    const config = parse([
      '--result-limit-bytes',
      '2048',
      '--stop-grace-ms',
      '500',
      '--command-kill-grace-ms',
      '100',
    ]);
    expect(config).toMatchObject({
      tasks: { resultLimitBytes: 2048, stopGraceMs: 500 },
      commands: { killGraceMs: 100 },
    });
  });

  it('refuses a command kill grace that outlasts the stop grace', () => {
    expect(() => parse(['--stop-grace-ms', '1000', '--command-kill-grace-ms', '1000'])).toThrow(
      '--command-kill-grace-ms must be less than --stop-grace-ms',
    );
  });
});

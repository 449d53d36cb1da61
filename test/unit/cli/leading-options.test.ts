import { describe, expect, it } from 'vitest';
import { moveLeadingClientOptions } from '../../../src/cli/leading-options.js';

describe('moveLeadingClientOptions', () => {
  it('moves connection options written before the command to after it', () => {
    expect(moveLeadingClientOptions(['--leader', 'h:1', '--json', 'members'])).toEqual([
      'members',
      '--leader',
      'h:1',
      '--json',
    ]);
    expect(moveLeadingClientOptions(['--leader=h:1', 'cron', 'list'])).toEqual([
      'cron',
      'list',
      '--leader=h:1',
    ]);
  });

  it('keeps what follows a -- as data', () => {
    expect(moveLeadingClientOptions(['--timeout-ms', '900', 'schedule', '--', '--json'])).toEqual([
      'schedule',
      '--timeout-ms',
      '900',
      '--',
      '--json',
    ]);
  });

  it('leaves alone what it does not know, and a front with no command after it', () => {
    for (const args of [
      ['members', '--leader', 'h:1'],
      ['--help', '--leader', 'h:1', 'members'],
      ['--leader', 'h:1'],
      ['--leader'],
      ['--listen', '0.0.0.0:1', 'leader'],
      [],
    ]) {
      expect(moveLeadingClientOptions(args)).toEqual(args);
    }
  });
});

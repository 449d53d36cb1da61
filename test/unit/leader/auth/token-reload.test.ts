import { chmodSync, chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { readTokenFile, Tokens } from '../../../../src/leader/auth/token-file.js';
import { followTokenFile, TOKENS_CHECK_MS } from '../../../../src/leader/auth/token-reload.js';
import { createToken, revokeToken } from '../../../../src/leader/auth/token-store.js';

/** A timer driven by hand: `tick()` runs what `every` was given. */
function manualTimer() {
  const calls: { ms: number; fn: () => void }[] = [];
  return {
    timers: {
      every: (ms: number, fn: () => void) => {
        calls.push({ ms, fn });
        return () => {};
      },
    },
    tick: () => calls.forEach((c) => c.fn()),
    calls,
  };
}

describe('followTokenFile', () => {
  it('takes a created or revoked token at the next check, and keeps the last good tokens while the file is unusable', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const first = createToken(file, 'ops', 'admin');
    const read = readTokenFile(file);
    const tokens = new Tokens(read.entries);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { timers, tick, calls } = manualTimer();
    followTokenFile(file, tokens, read.version, { timers, log });
    expect(calls.map((c) => c.ms)).toEqual([TOKENS_CHECK_MS]);

    tick(); // unchanged: not read again
    expect(lines).toEqual([]);
    const second = createToken(file, 'ci', 'write');
    revokeToken(file, 'ops');
    tick();
    expect(tokens.find(first)).toBeUndefined();
    expect(tokens.find(second)?.name).toBe('ci');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'tokens file read again', tokens: 1 });

    // An editor's half-written file, then one others may write: the tokens stay.
    writeFileSync(file, '{"tokens": [');
    tick();
    expect(tokens.find(second)?.name).toBe('ci');
    expect(JSON.parse(lines[1]!)).toMatchObject({
      level: 50,
      msg: 'tokens file changed but cannot be used; the tokens read before still hold',
    });
    createToken(`${file}.2`, 'x', 'admin');
    writeFileSync(file, JSON.stringify({ tokens: readTokenFile(`${file}.2`).entries }));
    chmodSync(file, 0o666);
    tick();
    expect(tokens.find(second)?.name).toBe('ci');
    expect(JSON.parse(lines[2]!).err).toMatch(/can be changed by other users \(mode 666\)/);
  });

  it('takes a change made between the read and the first check, and refuses everyone once the last token is revoked', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const only = createToken(file, 'ops', 'admin');
    const read = readTokenFile(file);
    const tokens = new Tokens(read.entries);
    // Revoked while the leader was still starting (after the read, before following).
    revokeToken(file, 'ops');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { timers, tick } = manualTimer();
    followTokenFile(file, tokens, read.version, { timers, log });
    expect(tokens.find(only)?.name).toBe('ops');
    tick();
    expect(tokens.find(only)).toBeUndefined();
    expect(tokens.size).toBe(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      msg: 'tokens file holds no tokens: every call is refused',
    });
  });

  // chown needs root (as this suite runs here and in CI); elsewhere there is no other owner to make.
  it.runIf(process.getuid?.() === 0)('refuses a tokens file that another user owns', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    createToken(file, 'ops', 'admin');
    chownSync(file, 1234, 1234);
    expect(() => readTokenFile(file)).toThrow(
      `the tokens file ${file} belongs to another user (uid 1234), who could change it: give it to this process's user (uid 0) or root`,
    );
  });
});

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
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
    const tokens = new Tokens(readTokenFile(file));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { timers, tick, calls } = manualTimer();
    followTokenFile(file, tokens, { timers, log });
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
    writeFileSync(file, JSON.stringify({ tokens: readTokenFile(`${file}.2`) }));
    chmodSync(file, 0o666);
    tick();
    expect(tokens.find(second)?.name).toBe('ci');
    expect(JSON.parse(lines[2]!).err).toMatch(/can be changed by other users \(mode 666\)/);
  });
});

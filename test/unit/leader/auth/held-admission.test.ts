import { describe, expect, it } from 'vitest';
import { authorize } from '../../../../src/leader/auth/authorize.js';
import { holdAdmission } from '../../../../src/leader/auth/held-admission.js';
import { hashToken, Tokens } from '../../../../src/leader/auth/token-file.js';

const entry = (name: string, role: 'read' | 'write', token: string) => ({
  name,
  role,
  sha256: hashToken(token),
});

describe('holdAdmission', () => {
  it('cuts an open call once the tokens change under it, and only that call', () => {
    const tokens = new Tokens([entry('a', 'read', 'token-a'), entry('b', 'write', 'token-b')]);
    const cuts: string[] = [];
    const hold = (name: string, token: string, need: 'read' | 'write') =>
      holdAdmission(
        tokens,
        () => authorize(tokens, need, [`Bearer ${token}`]),
        (refusal) => cuts.push(`${name}: ${(refusal as Error).message}`),
      );
    hold('watch-a', 'token-a', 'read');
    hold('watch-b', 'token-b', 'read');
    const released = hold('ended-a', 'token-a', 'read');
    released(); // the call ended before the change: nothing to cut

    tokens.replace([entry('b', 'write', 'token-b')]);
    expect(cuts).toEqual(['watch-a: the token is not one this leader knows']);
    // A lower role for b: its read call still passes, so stays.
    tokens.replace([entry('b', 'read', 'token-b')]);
    expect(cuts).toHaveLength(1);
    // Cut once: a later change does not cut watch-a again.
    tokens.replace([]);
    expect(cuts).toEqual([
      'watch-a: the token is not one this leader knows',
      'watch-b: the token is not one this leader knows',
    ]);
  });

  it('cuts a call whose token lost the role it needs', () => {
    const tokens = new Tokens([entry('ci', 'write', 'token-ci')]);
    const cuts: unknown[] = [];
    holdAdmission(
      tokens,
      () => authorize(tokens, 'write', ['Bearer token-ci']),
      (refusal) => cuts.push(refusal),
    );
    tokens.replace([entry('ci', 'read', 'token-ci')]);
    expect(cuts).toHaveLength(1);
    expect((cuts[0] as Error).message).toBe('token "ci" has role read; this needs write');
  });
});

import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { Admission, certificateNames } from '../../../../src/leader/auth/admission.js';
import { hashToken, Tokens } from '../../../../src/leader/auth/token-file.js';

/** A peer certificate as Node hands it, with only the fields admission reads. */
const cert = (cn: string | string[] | undefined, san?: string): PeerCertificate =>
  ({ subject: cn === undefined ? {} : { CN: cn }, subjectaltname: san }) as PeerCertificate;

const JOIN = 'drv_join-token-for-tests';
const READ = 'drv_read-token-for-tests';
const tokens = new Tokens([
  { name: 'joiner', role: 'worker', sha256: hashToken(JOIN) },
  { name: 'reader', role: 'read', sha256: hashToken(READ) },
]);

describe('certificateNames', () => {
  it('reads the common names and the DNS subjectAltNames, nothing else', () => {
    expect(certificateNames(cert('w1', 'DNS:w1.internal, IP Address:10.0.0.1, DNS:w1'))).toEqual([
      'w1',
      'w1.internal',
      'w1',
    ]);
    expect(certificateNames(cert(['a', 'b']))).toEqual(['a', 'b']);
    expect(certificateNames(undefined)).toEqual([]);
    // What Node gives for a peer that sent no certificate.
    expect(certificateNames({} as PeerCertificate)).toEqual([]);
    expect(certificateNames(cert(undefined, 'URI:spiffe://x/w1'))).toEqual([]);
  });
});

describe('Admission', () => {
  it('is open (no interceptor) with neither tokens nor names', () => {
    expect(new Admission(undefined, new Set()).guarded).toBe(false);
    expect(new Admission(undefined, new Set(['w'])).guarded).toBe(true);
    expect(new Admission(tokens, new Set()).guarded).toBe(true);
  });

  it('admits a named certificate to worker calls only; other calls keep their own rules', () => {
    const byName = new Admission(undefined, new Set(['w1.internal']));
    expect(byName.check('worker', [], () => cert('x', 'DNS:w1.internal'))).toBe(
      'certificate w1.internal',
    );
    expect(() => byName.check('worker', [], () => cert('intruder'))).toThrow(
      expect.objectContaining({
        kind: 'unauthenticated',
        message: expect.stringMatching(/"intruder" is not one it admits/),
      }),
    );
    expect(() => byName.check('worker', [], () => undefined)).toThrow(/presented no certificate/);
    // Without tokens, the names only guard what a worker does.
    expect(byName.check('admin', [], () => cert('intruder'))).toBe('');
    // The certificate is not read for calls that do not need it.
    expect(byName.check('read', [], () => expect.unreachable())).toBe('');
  });

  it('with tokens: a named certificate joins without a token, a join token still works, and the certificate gives no other role', () => {
    const both = new Admission(tokens, new Set(['w1']));
    expect(both.check('worker', [], () => cert('w1'))).toBe('certificate w1');
    expect(both.check('worker', [`Bearer ${JOIN}`], () => cert('other'))).toBe('joiner');
    expect(() => both.check('worker', [], () => cert('other'))).toThrow(/not one it admits/);
    expect(() => both.check('worker', [`Bearer ${READ}`], () => cert('other'))).toThrow(
      expect.objectContaining({ kind: 'denied' }),
    );
    expect(() => both.check('read', [], () => cert('w1'))).toThrow(
      expect.objectContaining({ kind: 'unauthenticated' }),
    );
    expect(both.check('public', [], () => expect.unreachable())).toBe('');
  });
});

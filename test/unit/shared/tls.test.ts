import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { outsideValidity, readServerTls } from '../../../src/shared/tls.js';

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/tls/${name}`, import.meta.url));

describe('the leader certificate', () => {
  it('is read with its validity, and said to be outside it before and after', () => {
    const tls = readServerTls({
      certFile: fixture('leader.pem'),
      keyFile: fixture('leader-key.pem'),
    });
    expect(tls.validToMs).toBeGreaterThan(tls.validFromMs);
    expect(outsideValidity(tls, tls.validFromMs)).toBeUndefined();
    expect(outsideValidity(tls, tls.validToMs + 1)).toEqual({
      validFrom: new Date(tls.validFromMs),
      validTo: new Date(tls.validToMs),
    });
    expect(outsideValidity(tls, tls.validFromMs - 1)).toBeDefined();
  });

  it('refuses a key that is not the certificate’s, naming the flag', () => {
    expect(() =>
      readServerTls({ certFile: fixture('leader.pem'), keyFile: fixture('client-key.pem') }),
    ).toThrow(`--tls-key ${fixture('client-key.pem')} is not the key of --tls-cert`);
  });
});

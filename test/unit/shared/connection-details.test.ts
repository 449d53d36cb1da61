import { describe, expect, it } from 'vitest';
import { brokeBecause, unreachableHint } from '../../../src/shared/connection-details.js';

describe('unreachableHint', () => {
  it('says what to check for each way grpc-js words a failure to connect', () => {
    const hint = (last: string) =>
      unreachableHint(`No connection established. Last error: ${last}`);
    expect(hint('connect ECONNREFUSED 127.0.0.1:1')).toBe('is it running? see --leader');
    expect(hint('getaddrinfo ENOTFOUND nope')).toBe('is the host name right? see --leader');
    expect(hint('Protocol error')).toMatch(/gRPC port, not its HTTP one/);
    expect(hint('certificate required')).toMatch(/requires a client certificate/);
    expect(hint('self-signed certificate in certificate chain')).toMatch(/see --tls-ca$/);
    // Plaintext at a TLS port, or a client certificate the leader refused: no more detail.
    expect(hint('Failed to connect')).toMatch(/does it take this TLS.*--tls-ca.*--tls-cert/);
  });
});

describe('brokeBecause', () => {
  const refused = Object.assign(new Error('14 UNAVAILABLE: ...'), {
    code: 14,
    details:
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
  });

  it("words grpc-js's failure without its noise, with what to check where the address was given", () => {
    expect(brokeBecause(refused)).toBe(
      'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (is it running? see --leader)',
    );
    const sdk = {
      leader: "check createProducer's leader",
      tls: 'its credentials',
      ca: 'the CA in its credentials',
      cert: 'a client certificate in its credentials',
    };
    expect(brokeBecause(refused, sdk)).toBe(
      "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (is it running? check createProducer's leader)",
    );
    // TLS hints name the SDK's settings, not the CLI's flags.
    const plaintextAtTls = {
      ...refused,
      details: 'No connection established. Last error: Failed to connect',
    };
    expect(brokeBecause(plaintextAtTls, sdk)).not.toMatch(/--/);
    expect(brokeBecause(plaintextAtTls)).toMatch(/--tls-ca/);
  });
});

import { describe, expect, it } from 'vitest';
import { formatHostPort, isUnspecified, parseHostPort } from '../../../src/shared/net.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and :port (loopback)', () => {
    expect(parseHostPort('leader.example:50051')).toEqual({ host: 'leader.example', port: 50051 });
    expect(parseHostPort('[::1]:7')).toEqual({ host: '::1', port: 7 });
    expect(parseHostPort(':50052')).toEqual({ host: '127.0.0.1', port: 50052 });
    expect(formatHostPort({ host: '::1', port: 7 })).toBe('[::1]:7');
  });

  it('says which is wrong: the form, or a port out of range', () => {
    expect(() => parseHostPort('127.0.0.1')).toThrow(
      new InvalidArgumentError('"127.0.0.1" is not an address of the form host:port'),
    );
    expect(() => parseHostPort('127.0.0.1:99999')).toThrow(
      new InvalidArgumentError('"127.0.0.1:99999": port 99999 is out of range (0-65535)'),
    );
  });
});

describe('isUnspecified', () => {
  it('is true for the any-address a leader binds to, false for one a client can dial', () => {
    for (const address of ['0.0.0.0:50051', '[::]:50051']) {
      expect(isUnspecified(parseHostPort(address).host)).toBe(true);
    }
    for (const address of ['127.0.0.1:50051', 'leader-a:50051', '[::1]:1', ':50051']) {
      expect(isUnspecified(parseHostPort(address).host)).toBe(false);
    }
  });
});

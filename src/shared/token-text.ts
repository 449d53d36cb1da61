import { InvalidArgumentError } from './errors.js';

/**
 * A token as given on a command line or in the environment: trimmed, a pasted `Bearer `
 * prefix dropped, and refused (a usage error, before any call) when it holds characters a
 * header cannot carry.
 */
export function tokenText(value: string | undefined, flag: string): string | undefined {
  const token = value?.trim().replace(/^Bearer\s+/i, '');
  if (token === undefined || token === '') return undefined;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidArgumentError(`${flag}: a token is printable ASCII with no spaces (drv_...)`);
  }
  return token;
}

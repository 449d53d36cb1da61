import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';

/**
 * A token as given on a command line or in the environment: trimmed, a pasted `Bearer `
 * prefix dropped, and refused (a usage error, before any call) when it holds characters a
 * header cannot carry.
 */
function tokenText(value: string | undefined, flag: string): string | undefined {
  const token = value?.trim().replace(/^Bearer\s+/i, '');
  if (token === undefined || token === '') return undefined;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidArgumentError(`${flag}: a token is printable ASCII with no spaces (drv_...)`);
  }
  return token;
}

/**
 * The token of `--token` or of `--token-file` (its first line): a file keeps it off the
 * command line, which every user of the machine can read (`ps`). Both given is a usage
 * error, as is a file that cannot be read.
 */
export function tokenFrom(
  value: string | undefined,
  file: string | undefined,
  flags: { readonly token: string; readonly file: string },
): string | undefined {
  if (file === undefined || file === '') return tokenText(value, flags.token);
  if (value !== undefined && value.trim() !== '') {
    throw new InvalidArgumentError(`give ${flags.token} or ${flags.file}, not both`);
  }
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (err) {
    throw new InvalidArgumentError(`${flags.file} ${file}: ${(err as Error).message}`);
  }
  // As ssh does with a private key: a token others may read is no secret.
  if ((mode & 0o077) !== 0) {
    throw new InvalidArgumentError(
      `${flags.file} ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}`,
    );
  }
  const token = tokenText(text.split('\n')[0], flags.file);
  if (token === undefined) throw new InvalidArgumentError(`${flags.file} ${file} is empty`);
  return token;
}

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors.js';
import { newApiToken } from '../../shared/ids.js';
import type { Role } from './roles.js';
import { hashToken, readTokenFile, type TokenEntry } from './token-file.js';

/** A token name: what logs and refusals call it. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

/**
 * Adds a token to the file (made, readable by its owner only, when missing) and returns it:
 * the only time it is ever seen. The file keeps its SHA-256. A leader reads the file when
 * it starts.
 */
export function createToken(path: string, name: string, role: Role): string {
  if (!NAME.test(name)) {
    throw new InvalidArgumentError(
      `token name "${name}": 1-64 letters, digits, '.', '_', '@', ':' or '-'`,
    );
  }
  const entries = existingEntries(path);
  if (entries.some((entry) => entry.name === name)) {
    throw new InvalidArgumentError(
      `a token named "${name}" is already in ${path}; revoke it first`,
    );
  }
  const token = newApiToken();
  writeEntries(path, [...entries, { name, role, sha256: hashToken(token) }]);
  return token;
}

/** Removes a token by name; says whether there was one. */
export function revokeToken(path: string, name: string): boolean {
  const entries = existingEntries(path);
  const kept = entries.filter((entry) => entry.name !== name);
  if (kept.length === entries.length) return false;
  writeEntries(path, kept);
  return true;
}

/** The tokens in the file (names and roles; the hashes too). */
export function listTokens(path: string): TokenEntry[] {
  return existingEntries(path);
}

function existingEntries(path: string): TokenEntry[] {
  if (!existsSync(path)) return [];
  // A file drover cannot read is refused rather than overwritten.
  if (readFileSync(path, 'utf8').trim() === '') return [];
  return readTokenFile(path);
}

/** Writes the whole file anew and renames it into place: never half a file. */
function writeEntries(path: string, entries: readonly TokenEntry[]): void {
  const next = `${path}.${process.pid}.tmp`;
  writeFileSync(next, `${JSON.stringify({ tokens: entries }, null, 2)}\n`, { mode: 0o600 });
  renameSync(next, path);
}

import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../../shared/errors.js';
import { newApiToken } from '../../shared/ids.js';
import type { Role } from './roles.js';
import { hashToken, readTokenFile, TOKEN_NAME, type TokenEntry } from './token-file.js';

/** How long an edit waits for another one (a second `drover token` run) to finish. */
const LOCK_TRIES = 200;
const LOCK_WAIT_MS = 25;

/**
 * Adds a token to the file (made, readable by its owner only, when missing) and returns it:
 * the only time it is ever seen. The file keeps its SHA-256. With no name, the first free
 * `<role>-<n>`. A leader reads the file when it starts.
 */
export function createToken(path: string, name: string | undefined, role: Role): string {
  return editTokens(path, (entries) => {
    const chosen = name ?? freeName(entries, role);
    if (!TOKEN_NAME.test(chosen)) {
      throw new InvalidArgumentError(
        `token name "${chosen}": 1-64 letters, digits, '.', '_', '@', ':' or '-'`,
      );
    }
    if (entries.some((entry) => entry.name === chosen)) {
      throw new InvalidArgumentError(
        `a token named "${chosen}" is already in ${path}; revoke it first`,
      );
    }
    const token = newApiToken();
    return {
      entries: [...entries, { name: chosen, role, sha256: hashToken(token) }],
      result: token,
    };
  });
}

/** Removes a token by name; says whether there was one. */
export function revokeToken(path: string, name: string): boolean {
  mustExist(path);
  return editTokens(path, (entries) => {
    const kept = entries.filter((entry) => entry.name !== name);
    return { entries: kept, result: kept.length !== entries.length };
  });
}

/** The tokens in the file (names and roles; the hashes too). */
export function listTokens(path: string): TokenEntry[] {
  mustExist(path);
  return existingEntries(path);
}

function mustExist(path: string): void {
  if (!existsSync(path)) throw new InvalidArgumentError(`no tokens file at ${path}`);
}

function freeName(entries: readonly TokenEntry[], role: Role): string {
  const taken = new Set(entries.map((entry) => entry.name));
  let n = 1;
  // Bounded: at most one more than the entries there are.
  while (taken.has(`${role}-${n}`)) n++;
  return `${role}-${n}`;
}

/**
 * Reads, changes and writes the file under a lock (an O_EXCL lock file beside it), so two
 * `drover token` runs never lose each other's change: a revoke stays revoked. Writes the
 * whole file anew and renames it into place (never half a file), at the symlink's target
 * when the path is one.
 */
function editTokens<T>(
  path: string,
  change: (entries: TokenEntry[]) => { entries: TokenEntry[]; result: T },
): T {
  const target = existsSync(path) ? realpathSync(path) : path;
  if (!existsSync(dirname(target))) {
    throw new InvalidArgumentError(`cannot write ${path}: its directory does not exist`);
  }
  const lock = lockFile(`${target}.lock`);
  try {
    const { entries, result } = change(existingEntries(target));
    const next = `${target}.${process.pid}.tmp`;
    writeFileSync(next, `${JSON.stringify({ tokens: entries }, null, 2)}\n`, { mode: 0o600 });
    renameSync(next, target);
    return result;
  } finally {
    lock();
  }
}

/** Takes the lock, waiting a bounded time for another holder; returns its release. */
function lockFile(path: string): () => void {
  for (let tries = 0; tries < LOCK_TRIES; tries++) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      return () => unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_WAIT_MS);
    }
  }
  throw new InvalidArgumentError(
    `${path} is held by another drover token run (or left by one that crashed: remove it)`,
  );
}

function existingEntries(path: string): TokenEntry[] {
  if (!existsSync(path)) return [];
  // A file drover cannot read is refused rather than overwritten.
  if (readFileSync(path, 'utf8').trim() === '') return [];
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { tokens?: unknown[] };
  // An emptied file is fine to edit (the leader refuses to start on it).
  if (Array.isArray(parsed.tokens) && parsed.tokens.length === 0) return [];
  return readTokenFile(path).entries;
}

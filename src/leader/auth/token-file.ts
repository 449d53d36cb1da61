import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors.js';
import { isRole, type Role } from './roles.js';

/** One token as the file keeps it: its name, role and SHA-256, never the token itself. */
export interface TokenEntry {
  readonly name: string;
  readonly role: Role;
  /** SHA-256 of the token, hex. */
  readonly sha256: string;
}

/** The token file's shape: `{"tokens": [{"name", "role", "sha256"}]}`. */
export interface TokenFile {
  readonly tokens: readonly TokenEntry[];
}

/** A token name: what refusals call it. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

/** SHA-256 of a token, hex: tokens are 256 random bits, so a fast hash is enough. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a token file holds, and the version of the file it was read from. */
export interface TokenFileRead {
  readonly entries: TokenEntry[];
  /** Its inode, size and times when read: a later stat that differs is a newer file. */
  readonly version: string;
}

/**
 * A token file's entries, checked; a file drover cannot use stops the start with why. An
 * empty list is refused at start (nobody could call the leader) unless `allowEmpty`: a
 * running leader whose last token was revoked must refuse everyone, not keep the old ones.
 */
export function readTokenFile(path: string, allowEmpty = false): TokenFileRead {
  let parsed: unknown;
  let version: string;
  try {
    // Stat and read the one file opened, so a file swapped in between is not half-checked.
    const fd = openSync(path, 'r');
    try {
      const stat = fstatSync(fd);
      checkOwnership(path, stat);
      version = fileVersion(stat);
      parsed = JSON.parse(readFileSync(fd, 'utf8'));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(
      `cannot read the tokens file ${path}: ${(err as Error).message}`,
    );
  }
  return { entries: checkEntries(path, parsed, allowEmpty), version };
}

/** A file's identity and state: its inode, size and change times. */
export function fileVersion(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * It holds hashes, not tokens, so others may read it; whoever may write it may give
 * themselves an admin token: the file must be owned by this process's user or root, and
 * not writable by group or others (as ssh asks of authorized_keys).
 */
function checkOwnership(path: string, stat: Stats): void {
  if ((stat.mode & 0o022) !== 0) {
    throw new InvalidArgumentError(
      `the tokens file ${path} can be changed by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod go-w ${path}`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
    throw new InvalidArgumentError(
      `the tokens file ${path} belongs to another user (uid ${stat.uid}), who could change it: give it to this process's user (uid ${uid}) or root`,
    );
  }
}

function checkEntries(path: string, parsed: unknown, allowEmpty: boolean): TokenEntry[] {
  const tokens = (parsed as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) {
    throw new InvalidArgumentError(`tokens file ${path}: expected {"tokens": [...]}`);
  }
  const entries = tokens.map((entry: unknown, i) => checkEntry(entry, `${path}: token ${i + 1}`));
  if (entries.length === 0 && !allowEmpty) {
    throw new InvalidArgumentError(
      `tokens file ${path} holds no tokens: nobody could call the leader (drover token create)`,
    );
  }
  for (const [i, entry] of entries.entries()) {
    const twin = entries.findIndex(
      (other, j) => j < i && (other.name === entry.name || other.sha256 === entry.sha256),
    );
    if (twin >= 0) {
      throw new InvalidArgumentError(
        `tokens file ${path}: tokens ${twin + 1} and ${i + 1} share a name or a token; each must be its own`,
      );
    }
  }
  return entries;
}

function checkEntry(entry: unknown, where: string): TokenEntry {
  const { name, role, sha256 } = (entry ?? {}) as Record<string, unknown>;
  if (typeof name !== 'string' || !TOKEN_NAME.test(name)) {
    throw new InvalidArgumentError(
      `${where}: name must be 1-64 letters, digits, '.', '_', '@', ':' or '-'`,
    );
  }
  if (typeof role !== 'string' || !isRole(role)) {
    throw new InvalidArgumentError(`${where} (${name}): role must be read, write, admin or worker`);
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new InvalidArgumentError(`${where} (${name}): sha256 must be 64 hex digits`);
  }
  return { name, role, sha256 };
}

/**
 * The tokens the leader accepts. A presented token is hashed and compared with every
 * entry in constant time (timingSafeEqual, and no early exit), so neither a match nor its
 * position shows in the time taken.
 */
export class Tokens {
  private hashes: { entry: TokenEntry; digest: Buffer }[] = [];
  private readonly replaced = new Set<() => void>();

  constructor(entries: readonly TokenEntry[]) {
    this.replace(entries);
  }

  /**
   * Takes a new set of tokens (the file changed): calls from now on are checked against it,
   * and so, again, are the open ones (see {@link onReplace}).
   */
  replace(entries: readonly TokenEntry[]): void {
    this.hashes = entries.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
    // A copy: a listener that cuts its call removes itself.
    for (const listener of [...this.replaced]) listener();
  }

  /** Calls `listener` after each {@link replace}; returns its removal. */
  onReplace(listener: () => void): () => void {
    this.replaced.add(listener);
    return () => this.replaced.delete(listener);
  }

  /** The entry a presented token belongs to, if any. */
  find(token: string): TokenEntry | undefined {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: TokenEntry | undefined;
    for (const { entry, digest: known } of this.hashes) {
      if (timingSafeEqual(digest, known) && found === undefined) found = entry;
    }
    return found;
  }

  get size(): number {
    return this.hashes.length;
  }
}

/**
 * The token in an `authorization` value (`Bearer <token>`), or undefined when there is none
 * or it is not a bearer token.
 */
export function bearerToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

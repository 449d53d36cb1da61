import { checkConcurrencyKey, checkKind } from '../scheduler/task.js';

/**
 * Reads a stored control's JSON value with `read`, or undefined if it is not a JSON object
 * or `read` finds it wanting: controls are written by this code, but a store may hold one
 * written by another version, and a leader must start over it.
 */
export function readJsonControl<T>(
  value: string,
  read: (object: Record<string, unknown>) => T | undefined,
): T | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return read(parsed as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** Whom a pause or a limit holds: every task of a kind, or every task with a key. */
export type KindOrKey = { readonly kind: string } | { readonly key: string };

/** Throws INVALID_ARGUMENT, saying what is wrong, unless the kind or key is valid. */
export function checkKindOrKey(target: KindOrKey): void {
  if ('kind' in target) checkKind(target.kind);
  else checkConcurrencyKey(target.key);
}

/**
 * The stored control keys of one unit's kinds and keys: `<unit>/kind/<kind>` and
 * `<unit>/key/<key>` (`pause/kind/resize`, `limit/key/customer:42`).
 */
export class KindOrKeyControls {
  private readonly kindPrefix: string;
  private readonly keyPrefix: string;

  constructor(unit: string) {
    this.kindPrefix = `${unit}/kind/`;
    this.keyPrefix = `${unit}/key/`;
  }

  /** The stored key of a target. */
  keyOf(target: KindOrKey): string {
    return 'kind' in target ? `${this.kindPrefix}${target.kind}` : `${this.keyPrefix}${target.key}`;
  }

  /** The target a stored key names, or undefined if it is not this unit's. */
  targetOf(storedKey: string): KindOrKey | undefined {
    if (storedKey.startsWith(this.kindPrefix)) {
      return { kind: storedKey.slice(this.kindPrefix.length) };
    }
    if (storedKey.startsWith(this.keyPrefix))
      return { key: storedKey.slice(this.keyPrefix.length) };
    return undefined;
  }
}

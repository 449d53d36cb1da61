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

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, normalize } from 'node:path';
import { InvalidArgumentError } from '../../shared/errors.js';

/** Whether a path is a regular file this process may execute. */
export type ExecutableProbe = (path: string) => boolean;

/** The real probe: a regular file with an execute bit for this process. */
export const isExecutableFile: ExecutableProbe = (path) => {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The commands a worker may run (issue #20), each resolved once, at start, to the absolute
 * file that runs. A bare name (`ls`) is looked up in the PATH commands get, the path it
 * names (`/usr/bin/ls`) is checked as given; either must be an executable file, or the
 * worker does not start. A payload runs only a command named exactly as listed (or, for a
 * listed name, by its resolved path), and always by that absolute path: nothing the
 * environment says after start, no later PATH and no file put earlier on it, can change
 * which program runs.
 */
export class CommandAllowList {
  private constructor(
    /** Payload command → the absolute path it runs. */
    private readonly runs: ReadonlyMap<string, string>,
    private readonly listed: readonly string[],
  ) {}

  /** Resolves `entries` against `path` (a PATH value); throws naming the first bad one. */
  static resolve(
    entries: readonly string[],
    path: string,
    probe: ExecutableProbe = isExecutableFile,
  ): CommandAllowList {
    const runs = new Map<string, string>();
    for (const entry of entries) {
      const resolved = entry.includes('/') ? checkPath(entry, probe) : lookUp(entry, path, probe);
      runs.set(entry, resolved);
      // A listed name may also be asked for by the path it resolved to.
      if (!runs.has(resolved)) runs.set(resolved, resolved);
    }
    return new CommandAllowList(runs, entries);
  }

  /** The absolute path a payload's `command` runs as, or undefined when it is not allowed. */
  pathOf(command: string): string | undefined {
    return this.runs.get(command);
  }

  /** The list as given, with what each name resolved to, for refusals and the start log. */
  describe(): string {
    return (
      this.listed
        .map((entry) => (entry.includes('/') ? entry : `${entry} (${this.runs.get(entry)})`))
        .join(', ') || 'none'
    );
  }
}

function checkPath(entry: string, probe: ExecutableProbe): string {
  if (!isAbsolute(entry)) {
    throw new InvalidArgumentError(
      `--allow-command ${entry}: give a bare name or an absolute path, not a relative one`,
    );
  }
  if (normalize(entry) !== entry) {
    throw new InvalidArgumentError(
      `--allow-command ${entry}: give the path as it is (${normalize(entry)}), without . or .. or //`,
    );
  }
  if (!probe(entry)) {
    throw new InvalidArgumentError(
      `--allow-command ${entry}: no executable file there (a command must exist when the worker starts)`,
    );
  }
  return entry;
}

function lookUp(name: string, path: string, probe: ExecutableProbe): string {
  // Only absolute directories count: a relative PATH entry would depend on the cwd.
  for (const dir of path.split(delimiter).filter((d) => isAbsolute(d))) {
    const candidate = join(dir, name);
    if (probe(candidate)) return candidate;
  }
  throw new InvalidArgumentError(
    `--allow-command ${name}: not found in the PATH commands get (${path}); install it or give its absolute path`,
  );
}

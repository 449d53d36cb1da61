/** Options for {@link waitFor}. */
export interface WaitForOptions {
  readonly timeoutMs: number;
  /** Pause between checks. */
  readonly intervalMs?: number;
  /** Shown in the error when time runs out. */
  readonly what?: string;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws with the
 * last value and error seen once `timeoutMs` has passed. The only polling tests may do.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 25;
  let lastError: unknown;
  let lastValue: unknown;
  for (let round = 0; ; round++) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastValue = value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const detail = lastError instanceof Error ? lastError.message : JSON.stringify(lastValue);
      throw new Error(
        `timed out after ${options.timeoutMs} ms (${round + 1} checks) waiting for ${options.what ?? 'condition'}; last: ${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** Makes a {@link Deferred}. */
export function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

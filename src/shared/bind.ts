import { errorMessage, StartupError } from './errors.js';

/** Runs a bind; a refusal becomes a StartupError that names the listener and the cause. */
export async function bindOrExplain<T>(
  what: string,
  address: string,
  bind: () => Promise<T>,
): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why =
      code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(errorMessage(err))
        ? 'the address is already in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'no such local address'
            : errorMessage(err);
    throw new StartupError(`cannot listen for ${what} on ${address}: ${why}`);
  }
}

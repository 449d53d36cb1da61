/**
 * The API token the dashboard sends (issue #20), kept for this browser tab only
 * (sessionStorage: gone when the tab closes, never sent anywhere but this leader).
 */
const KEY = 'drover-token';

const listeners = new Set<() => void>();

/** The token, if one was given. */
export function currentToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** Uses `token` from now on (undefined: forget it); views reload. */
export function setToken(token: string | undefined): void {
  if (token === undefined || token.trim() === '') sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token.trim());
  for (const listener of listeners) listener();
}

/** Told when the token changes. */
export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Headers that carry the token, if there is one. */
export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

let refused = false;
const refusedListeners = new Set<(refused: boolean) => void>();

/** A call was refused for its token (401): the header asks for one. */
export function markUnauthenticated(): void {
  if (refused) return;
  refused = true;
  for (const listener of refusedListeners) listener(true);
}

/** Told when the leader first asks for a token. */
export function onUnauthenticated(listener: (refused: boolean) => void): () => void {
  refusedListeners.add(listener);
  if (refused) listener(true);
  return () => refusedListeners.delete(listener);
}

import { authHeaders, markUnauthenticated } from './token.js';

/** A refusal or failure of the leader's HTTP API, with the message it gave. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Calls the leader's HTTP API (same origin: the dashboard is served by the leader) and
 * returns its JSON; a refusal throws an ApiError with the API's own `{"error": ...}`
 * message, a network failure one that says the leader cannot be reached.
 */
export async function api<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...authHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, `the leader cannot be reached (${String(err)})`);
  }
  const text = await response.text();
  const parsed = parseJson(text);
  if (response.status === 401) markUnauthenticated();
  if (!response.ok) {
    const message =
      parsed !== null && typeof parsed === 'object' && 'error' in parsed
        ? String((parsed as { error: unknown }).error)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A path segment: ids may hold any character. */
export const seg = (value: string): string => encodeURIComponent(value);

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
    throw new ApiError(response.status, forThisPage(response.status, message));
  }
  return parsed as T;
}

/**
 * A refusal in the words of this page: the leader's messages name the CLI's flags, and a
 * person here gives a token in the box at the top instead.
 */
function forThisPage(status: number, message: string): string {
  if (status === 401) {
    return `${message.replace(/: send "authorization: Bearer <token>".*$/, '')}: enter a token at the top of the page`;
  }
  if (status === 403 && / this needs /.test(message)) {
    return `${message} (to use another token, click “token ✓” to forget this one)`;
  }
  return message;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export { seg } from './path-segment.js';

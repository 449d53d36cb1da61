import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { echo } from '../../shared/text.js';

// How the HTTP API reads a JSON body: exactly, or not at all. JSON.parse alone would take
// invalid UTF-8 (as U+FFFD) and a repeated key (the last one wins) without a word.

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A 400 that Fastify's error handler shows as `{"error": message}`. */
export function badRequest(message: string): FastifyError {
  return Object.assign(new Error(message), { statusCode: 400 }) as FastifyError;
}

/**
 * The first key that appears twice in one object of a JSON text (or a `__proto__` key,
 * which some readers treat as the prototype), or undefined. Keys are
 * compared decoded (`"a"` and `"\u0061"` are the same key). Scans once, in linear time;
 * on text that is not JSON it may find nothing, and the parser then says what is wrong.
 */
export function findDuplicateKey(text: string): string | undefined {
  // One entry per open object (its keys so far, and whether a key comes next) or array.
  const open: ({ keys: Set<string>; keyNext: boolean } | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = open[open.length - 1];
      if (top?.keyNext) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return undefined;
        }
        if (top.keys.has(key) || key === '__proto__') return key;
        top.keys.add(key);
        top.keyNext = false;
      }
      i = end;
    } else if (c === '{') open.push({ keys: new Set(), keyNext: true });
    else if (c === '[') open.push(undefined);
    else if (c === '}' || c === ']') open.pop();
    else if (c === ',') {
      const top = open[open.length - 1];
      if (top) top.keyNext = true;
    }
  }
  return undefined;
}

/**
 * Reads a body as JSON: valid UTF-8, no key twice, then Fastify's own parser (which also
 * refuses `__proto__` and `constructor.prototype` keys). An empty body is `undefined` when
 * `emptyIsUndefined` says so for the request, else Fastify's "empty body" error; a route
 * that `takesNoBody` takes `{}` as none and refuses anything else.
 */
export function jsonBodyParser(
  app: FastifyInstance,
  options: {
    emptyIsUndefined: boolean | ((request: FastifyRequest) => boolean);
    /** A route that takes no body: anything but none or `{}` is refused, not ignored. */
    takesNoBody?: (request: FastifyRequest) => boolean;
  },
): (
  request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
) => void {
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body);
    } catch {
      done(badRequest('request body is not valid UTF-8'));
      return;
    }
    const { emptyIsUndefined } = options;
    const emptyAllowed =
      typeof emptyIsUndefined === 'function' ? emptyIsUndefined(request) : emptyIsUndefined;
    if (emptyAllowed && text.trim() === '') {
      done(null, undefined);
      return;
    }
    const twice = findDuplicateKey(text);
    if (twice === '__proto__') {
      done(badRequest('request body has a "__proto__" key, which is not allowed'));
      return;
    }
    if (twice !== undefined) {
      done(badRequest(`request body has the key ${echo(twice)} more than once`));
      return;
    }
    if (options.takesNoBody?.(request) !== true) {
      parse(request, text, done);
      return;
    }
    parse(request, text, (err, parsed) => {
      if (err) done(err);
      else if (isEmptyObject(parsed)) done(null, undefined);
      else done(badRequest(`${request.method} ${request.url} takes no body; send none (or {})`));
    });
  };
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 0
  );
}

import type { FastifyInstance } from 'fastify';
import { echo } from '../../shared/text.js';

/** Set on a parsed query whose text held a percent-encoding that is not valid UTF-8. */
const BAD_PARAMETER = Symbol('bad query parameter');

type ParsedQuery = Record<string, string | string[]> & { [BAD_PARAMETER]?: string };

/**
 * Parses a query string exactly: `%FF` and other percent-encodings that are not UTF-8 are
 * marked, not turned into U+FFFD as the default parser does, so the request can be refused.
 * A parser that threw would take the process down (it runs inside the router), hence the
 * mark. Repeated keys give arrays, as the default parser's do; snake_case keys are read
 * as their camelCase names.
 */
export function parseQueryStrictly(text: string): ParsedQuery {
  const query: ParsedQuery = Object.create(null) as ParsedQuery;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      query[BAD_PARAMETER] ??= rawKey;
      continue;
    }
    key = camelCase(key);
    const seen = query[key];
    query[key] = seen === undefined ? value : [...[seen].flat(), value];
  }
  return query;
}

/**
 * `member_id` read as `memberId`: the API's names are the proto JSON mapping's, which
 * accepts both spellings in bodies (so does drover's), and query parameters follow suit.
 */
function camelCase(key: string): string {
  return key.includes('_') ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

/** Refuses (400) a request whose query held a parameter marked by parseQueryStrictly. */
export function refuseBadQueries(app: FastifyInstance): void {
  app.addHook('preValidation', (request, reply, done) => {
    const bad = (request.query as ParsedQuery | undefined)?.[BAD_PARAMETER];
    if (bad === undefined) {
      done();
      return;
    }
    void reply.code(400).send({
      error: `query parameter ${echo(bad)} is not valid: its percent-encoding is not UTF-8`,
    });
  });
}

import type { FastifyInstance, RouteOptions } from 'fastify';
import type { AuditLog } from '../auth/audit-log.js';
import { authorize } from '../auth/authorize.js';
import { holdAdmission } from '../auth/held-admission.js';
import { ROUTE_NEEDS } from '../auth/permissions.js';
import type { Tokens } from '../auth/token-file.js';

/** A route's key in ROUTE_NEEDS: its method (HEAD as its GET) and its pattern. */
function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/**
 * Guards the HTTP API (issue #20): with tokens, each request's bearer token is checked
 * against its route's role before anything else runs (401 or 403 in the API's one error
 * shape, nothing changed); a request still open when the tokens change is checked again
 * and closed if its token no longer admits it. Whatever the tokens, every route must have a role: call the
 * returned check once all are registered, and the server does not start with one missing.
 * Call before registering routes, so the hook sees each of them.
 */
export function guardRoutes(
  app: FastifyInstance,
  tokens: Tokens | undefined,
  audit: AuditLog,
): () => void {
  // Checked once all are registered: a scope may still mark its routes public (onRoute).
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  if (tokens !== undefined) {
    app.addHook('onRequest', async (request, reply) => {
      const url = request.routeOptions.url;
      // No route: the answer is a 404 or 405 that shows nothing.
      if (url === undefined) return;
      const action = routeKey(request.method, url);
      const need = isPublic(request.routeOptions.config)
        ? 'public'
        : (ROUTE_NEEDS[action] ?? 'admin');
      const headers = authorizationHeaders(request.raw.rawHeaders);
      try {
        const who = authorize(tokens, need, headers);
        audit.admitted(who, need, action, request.ip, request.url);
      } catch (err) {
        audit.refused(`${request.method} ${request.url}`, request.ip, (err as Error).message);
        throw err;
      }
      // A watch or a follow stays open: if the tokens change and its token no longer
      // admits it, the connection is closed (a client that comes back is told why).
      const release = holdAdmission(
        tokens,
        () => authorize(tokens, need, headers),
        (err) => {
          audit.refused(
            `${request.method} ${request.url}`,
            request.ip,
            `cut: ${(err as Error).message}`,
          );
          reply.raw.destroy();
        },
      );
      reply.raw.once('close', release);
    });
  }
  return () => {
    const missing = routes
      .filter((route) => !isPublic(route.config))
      .flatMap((route) => [route.method].flat().map((method) => routeKey(method, route.url)))
      .filter((key) => !key.startsWith('OPTIONS ') && ROUTE_NEEDS[key] === undefined);
    if (missing.length > 0) {
      throw new Error(`HTTP routes with no role in ROUTE_NEEDS: ${missing.join(', ')}`);
    }
  };
}

/** Marks every route a scope registers as public (the dashboard's files). */
export function markRoutesPublic(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object | undefined), public: true } as typeof route.config;
  });
}

/** Whether a route was marked public by {@link markRoutesPublic}. */
export function isPublic(config: unknown): boolean {
  return (config as { public?: unknown } | undefined)?.public === true;
}

/** Every `authorization` header as sent (Node keeps only the first in `headers`). */
function authorizationHeaders(raw: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'authorization') values.push(raw[i + 1]!);
  }
  return values;
}

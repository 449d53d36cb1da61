import fastifyStatic, { type FastifyStaticOptions } from '@fastify/static';
import { markRoutesPublic } from './auth-hook.js';
import type { FastifyInstance } from 'fastify';

/**
 * What the dashboard's pages may do: its own scripts, styles and API, nothing from
 * elsewhere (it is bundled at build time; no CDN), and no framing by other sites.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serves the built web dashboard (index.html, app.js, app.css) at `/`, on the API's own
 * listener: the same TLS, and the same auth once the API has it. Only the files that exist
 * when the leader starts get routes (no wildcard), so every other path keeps the API's
 * JSON 404 and 405 answers.
 */
export async function registerDashboard(app: FastifyInstance, dir: string): Promise<void> {
  await app.register(async (scope) => {
    // The files hold no data: public even when the API needs tokens (its calls carry one).
    markRoutesPublic(scope);
    await scope.register(fastifyStatic, staticOptions(dir));
  });
}

function staticOptions(dir: string): FastifyStaticOptions {
  return {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // A new leader version must not be run with an old cached page: revalidate each time
    // (cheap: ETag and Last-Modified make it a 304).
    cacheControl: true,
    maxAge: 0,
    setHeaders: (response) => {
      response.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      response.setHeader('x-content-type-options', 'nosniff');
      response.setHeader('referrer-policy', 'no-referrer');
    },
  };
}

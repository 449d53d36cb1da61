import swagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { Logger } from 'pino';
import { toHttpError } from '../../shared/http-status.js';
import type { Coordinator } from '../coordinator.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerMemberRoutes } from './member-routes.js';
import { registerOutputRoutes } from './output-routes.js';
import { registerSeedRoutes } from './seed-routes.js';
import { registerTaskRoutes } from './task-routes.js';
import { registerWatchRoutes } from './watch-routes.js';

/** Settings of the HTTP API. */
export interface HttpServerOptions {
  /** Largest request body; a bigger one is 413. */
  readonly bodyLimitBytes: number;
  /**
   * TLS key and certificate (PEM), and the CA client certificates must be signed by when
   * the leader requires mTLS; plaintext when absent.
   */
  readonly https?:
    | { readonly key: Buffer; readonly cert: Buffer; readonly clientCa?: Buffer | undefined }
    | undefined;
}

/**
 * The leader's HTTP JSON API: a thin adapter over the same coordinator the gRPC services
 * call (one implementation of each operation). Fastify validates every body and query
 * against its JSON schema (no coercion, no silently dropped fields), the same schemas make
 * the OpenAPI document at /openapi.json, and every error is `{"error": "..."}` with the
 * status `shared/http-status.ts` picks.
 */
export async function buildHttpServer(
  coordinator: Coordinator,
  logger: Logger,
  options: HttpServerOptions,
): Promise<FastifyInstance> {
  const log = logger.child({ component: 'http' });
  const app: FastifyInstance = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // No per-request logs: a busy API would otherwise drown the leader's log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    ...(options.https
      ? {
          https: {
            key: options.https.key,
            cert: options.https.cert,
            // The same rule as gRPC: with a client CA, no certificate signed by it, no talk.
            ...(options.https.clientCa
              ? { ca: options.https.clientCa, requestCert: true, rejectUnauthorized: true }
              : {}),
          },
        }
      : {}),
    ajv: {
      customOptions: {
        // Wrong types are errors, not guesses, and unknown fields are refused by name.
        coerceTypes: false,
        removeAdditional: false,
        allErrors: false,
      },
    },
  });

  // JSON only: a text body would otherwise reach a route as a string.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'drover',
        description:
          'The drover leader over HTTP: the same task list and membership as its gRPC ' +
          'services (scheduler.v1, cluster.v1), with JSON field names as in the proto JSON mapping.',
        version: '1',
      },
    },
  });

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      return reply.code(400).send({ error: `${where}: ${describeValidation(err)}` });
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own refusals: bad JSON, wrong content type, a body over the limit.
      return reply.code(err.statusCode).send({ error: fastifyMessage(err) });
    }
    const { statusCode, body } = toHttpError(err, log);
    return reply.code(statusCode).send(body);
  });

  // Every route's pattern, so a path that exists under other methods is a 405, not a 404.
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, pattern: patternToRegExp(route.url) });
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = METHOD_ORDER.filter((method) =>
      routes.some((r) => r.method === method && r.pattern.test(path)),
    );
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({
          error: `method ${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
        });
    }
    return reply.code(404).send({ error: `no route ${request.method} ${path}` });
  });

  registerHealthRoutes(app, coordinator);
  registerTaskRoutes(app, coordinator);
  registerMemberRoutes(app, coordinator);
  registerWatchRoutes(app, coordinator);
  registerOutputRoutes(app, coordinator);
  registerSeedRoutes(app, coordinator);
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  await app.ready();
  return app;
}

/** Methods in the order an Allow header lists them. */
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * A route pattern as a RegExp over concrete paths: `:id` is one segment, `:id(re)` what
 * `re` matches, `::` a literal colon, everything else itself.
 */
function patternToRegExp(url: string): RegExp {
  const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let source = '';
  let rest = url;
  // Bounded by the pattern's length: every step consumes at least one character.
  while (rest.length > 0) {
    const param = /^:([A-Za-z0-9_]+)(?:\(([^)]*)\))?/.exec(rest);
    if (rest.startsWith('::')) {
      source += ':';
      rest = rest.slice(2);
    } else if (param) {
      source += `(?:${param[2] ?? '[^/]+?'})`;
      rest = rest.slice(param[0].length);
    } else {
      source += literal(rest[0]!);
      rest = rest.slice(1);
    }
  }
  return new RegExp(`^${source}$`);
}

function describeValidation(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return err.message;
  const field = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty?: string }).additionalProperty;
    return `unknown field "${field ? `${field}.` : ''}${extra}"`;
  }
  if (first.keyword === 'required') {
    const missing = (first.params as { missingProperty?: string }).missingProperty;
    return `missing field "${field ? `${field}.` : ''}${missing}"`;
  }
  return `${field ? `field "${field}" ` : ''}${first.message ?? 'is not valid'}`;
}

function fastifyMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than the limit`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send JSON with content-type: application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty; send a JSON object';
    default:
      return err.message;
  }
}

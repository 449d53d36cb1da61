import swagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { boundedMessage } from '../../shared/errors.js';
import { toHttpError } from '../../shared/http-status.js';
import { jsonBodyParser } from './json-body.js';
import { parseQueryStrictly, refuseBadQueries } from './query-string.js';
import type { LeaderApi } from '../leader-api.js';
import type { LeaderDirectory } from '../leader-role.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerLeaderRoutes, registerMemberRoutes } from './member-routes.js';
import { registerOutputRoutes } from './output-routes.js';
import { registerSeedRoutes } from './seed-routes.js';
import { registerTaskRoutes } from './task-routes.js';
import { registerCallerRoute } from './caller-route.js';
import { registerCronRoutes } from './cron-routes.js';
import { registerLimitRoutes } from './limit-routes.js';
import { registerPauseRoutes } from './pause-routes.js';
import { registerRetryRoutes } from './retry-routes.js';
import { registerWatchRoutes } from './watch-routes.js';
import { registerMetricsRoute } from './metrics-route.js';
import { registerStatsRoutes } from './stats-routes.js';
import { registerDashboard } from './dashboard-route.js';
import { guardRoutes } from './auth-hook.js';
import { refuseCrossSite } from './cross-site-guard.js';
import type { Tokens } from '../auth/token-file.js';
import { AuditLog } from '../auth/audit-log.js';
import type { Registry } from 'prom-client';

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
  /** The registry `GET /metrics` renders (Prometheus text format); no route without one. */
  readonly metrics?: Registry | undefined;
  /** The built web dashboard to serve at `/` (dist/dashboard); none when undefined. */
  readonly dashboardDir?: string | undefined;
  /** The API tokens every request must carry (issue #20); none: the API is open. */
  readonly tokens?: Tokens | undefined;
  /** Where admitted changes and refusals are written (with `tokens`). */
  readonly audit?: AuditLog | undefined;
  /**
   * Whether the API listens on loopback only: it then answers only to a loopback Host
   * (see cross-site-guard.ts). Cross-site browser requests are refused either way.
   */
  readonly loopbackOnly?: boolean | undefined;
  /** More Host names a loopback-only API answers to (`--http-allowed-host`). */
  readonly allowedHosts?: readonly string[] | undefined;
  /** Silence while a body is read after which the connection closes (default 30 s). */
  readonly bodyTimeoutMs?: number | undefined;
  /** How long a whole body may take to arrive, however it trickles (default 120 s). */
  readonly bodyDeadlineMs?: number | undefined;
}

/**
 * The leader's HTTP JSON API: a thin adapter over the same coordinator the gRPC services
 * call (one implementation of each operation). Fastify validates every body and query
 * against its JSON schema (no coercion, no silently dropped fields), the same schemas make
 * the OpenAPI document at /openapi.json, and every error is `{"error": "..."}` with the
 * status `shared/http-status.ts` picks.
 */
export async function buildHttpServer(
  coordinator: LeaderApi,
  directory: LeaderDirectory,
  logger: Logger,
  options: HttpServerOptions,
): Promise<FastifyInstance> {
  const log = logger.child({ component: 'http' });
  const app = createFastify(log, options);
  acceptOnlyJson(app);
  boundBodyTime(app, options);
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
      return reply
        .code(err.statusCode)
        .send({ error: fastifyMessage(err, options.bodyLimitBytes) });
    }
    const { statusCode, headers, body } = toHttpError(err, log);
    return reply.code(statusCode).headers(headers).send(body);
  });
  refuseBadQueries(app);
  answerUnroutedPaths(app);
  refuseCrossSite(app, options.loopbackOnly === true, options.allowedHosts);
  const audit = options.audit ?? new AuditLog(logger.child({ component: 'audit' }), Date.now);
  const checkRoles = guardRoutes(app, options.tokens, audit);

  registerHealthRoutes(app, coordinator);
  registerTaskRoutes(app, coordinator);
  registerMemberRoutes(app, coordinator);
  registerPauseRoutes(app, coordinator);
  registerLimitRoutes(app, coordinator);
  registerCronRoutes(app, coordinator);
  registerRetryRoutes(app, coordinator);
  registerLeaderRoutes(app, directory);
  registerCallerRoute(app, options.tokens);
  registerWatchRoutes(app, coordinator);
  registerOutputRoutes(app, coordinator);
  registerSeedRoutes(app, coordinator);
  registerStatsRoutes(app, coordinator);
  if (options.metrics) registerMetricsRoute(app, options.metrics);
  if (options.dashboardDir !== undefined) await registerDashboard(app, options.dashboardDir);
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  checkRoles();
  await app.ready();
  return app;
}

/** The Fastify instance with the API's limits, TLS, strict validation and early refusals. */
function createFastify(log: Logger, options: HttpServerOptions): FastifyInstance {
  return Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // No per-request logs: a busy API would otherwise drown the leader's log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // Room for the longest id percent-encoded (3 characters per byte, up to 4 per char).
    routerOptions: { maxParamLength: MAX_PARAM_CHARS, querystringParser: parseQueryStrictly },
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
    // Refusals made before a route runs keep the API's one error shape, {"error": ...}.
    frameworkErrors: refuseBeforeRoute,
    clientErrorHandler: answerClientError,
    ajv: {
      customOptions: {
        // Wrong types are errors, not guesses, and unknown fields are refused by name.
        coerceTypes: false,
        removeAdditional: false,
        allErrors: false,
      },
    },
  });
}

/** Fastify's refusals before routing (a bad URL, a path segment too long), in the API's shape. */
function refuseBeforeRoute(err: FastifyError, _request: unknown, reply: unknown): void {
  const code = err.code;
  const [status, message] =
    code === 'FST_ERR_BAD_URL'
      ? [400, 'the URL is not valid (a bad percent-encoding?)']
      : code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? [414, `a path segment is longer than ${MAX_PARAM_CHARS} characters`]
        : [400, boundedMessage(err.message)];
  // The reply's type is generic over a route schema this early refusal does not have.
  void (reply as FastifyReply).code(status).send({ error: message });
}

function answerClientError(err: Error, socket: Socket): void {
  // The connection failed before Fastify had a request (a header block over the
  // limit, a malformed request line): answer in the API's shape, then close.
  const tooLarge = (err as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    error: tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
  });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  } else socket.destroy(err);
}

/** How long a request's body may go silent once its headers have arrived (default). */
const BODY_TIMEOUT_MS = 30_000;
/** How long a whole body may take, from its headers (default): 6 MiB at ~50 KiB/s. */
const BODY_DEADLINE_MS = 120_000;

/**
 * A body that stops arriving (a client gone quiet mid-body) closes the connection after
 * `bodyTimeoutMs` of silence, and one that trickles (a byte every few seconds, to hold the
 * connection) once `bodyDeadlineMs` have passed since its headers, instead of holding it for ever
 * (Fastify sets no limit, and Node's requestTimeout did not end one here). Set while a body
 * is read and lifted once it is: watches and output follows stream as long as they are
 * wanted.
 */
function boundBodyTime(
  app: FastifyInstance,
  { bodyTimeoutMs, bodyDeadlineMs }: Pick<HttpServerOptions, 'bodyTimeoutMs' | 'bodyDeadlineMs'>,
): void {
  const silenceMs = bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const wholeMs = bodyDeadlineMs ?? BODY_DEADLINE_MS;
  const deadlines = new WeakMap<object, NodeJS.Timeout>();
  const lift = (request: object): void => clearTimeout(deadlines.get(request));
  app.addHook('onRequest', (request, _reply, done) => {
    const { headers, socket } = request.raw;
    if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) {
      // No 'timeout' listener: Node's HTTP server then destroys the socket itself.
      socket.setTimeout(silenceMs);
      deadlines.set(
        request.raw,
        setTimeout(() => socket.destroy(), wholeMs),
      );
      // Gone before its body came: the deadline has nothing left to do.
      request.raw.once('close', () => lift(request.raw));
    }
    done();
  });
  // The body is read (or, for a GET, never will be): a watch may stream on from here.
  app.addHook('preValidation', (request, _reply, done) => {
    request.raw.socket.setTimeout(0);
    lift(request.raw);
    done();
  });
}

/** Takes JSON bodies only, and parses them exactly. */
function acceptOnlyJson(app: FastifyInstance): void {
  // JSON only: a text body would otherwise reach a route as a string. And JSON exactly:
  // valid UTF-8, no key twice (see json-body.ts).
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    // A route that takes no body (an action: `:pause`, `:cancel`, DELETE) takes an empty
    // one with a JSON content type too, as `curl -X POST -H 'content-type: ...'` sends it.
    jsonBodyParser(app, {
      emptyIsUndefined: (request) => !request.routeOptions.schema?.body,
      // A path no route takes is a 404 (or 405) whatever its body.
      takesNoBody: (request) =>
        request.routeOptions.url !== undefined && !request.routeOptions.schema?.body,
    }),
  );
}

/**
 * Answers a path no route takes: 405 with an Allow header when it exists under other
 * methods, else 404. Call before registering the routes, so it sees each of them.
 */
function answerUnroutedPaths(app: FastifyInstance): void {
  // Every route's pattern, so a path that exists under other methods is a 405, not a 404.
  const routes: { method: string; pattern: RegExp }[] = [];
  // Action routes (`/v1/tasks/:id(.+)::cancel`): the path before the action, and its name.
  const actions: { method: string; target: RegExp; name: string }[] = [];
  app.addHook('onRoute', (route) => {
    const action = /^(.*)::([a-z-]+)$/.exec(route.url);
    for (const method of [route.method].flat()) {
      routes.push({ method, pattern: patternToRegExp(route.url) });
      if (action) actions.push({ method, target: patternToRegExp(action[1]!), name: action[2]! });
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const unknownAction = describeUnknownAction(request.method, path, actions);
    if (unknownAction !== undefined) return reply.code(404).send({ error: unknownAction });
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
}

/**
 * `POST /v1/tasks/x:frobnicate` where the path before the colon takes actions with this
 * method: names the actions it does take, instead of a 405 that reads the whole last
 * segment as an id (a task id may hold a colon, so the router cannot tell).
 */
function describeUnknownAction(
  method: string,
  path: string,
  actions: readonly { method: string; target: RegExp; name: string }[],
): string | undefined {
  const split = /^(.*[^:/]):([^:/]*)$/.exec(path);
  if (!split) return undefined;
  const [, target, name] = split as unknown as [string, string, string];
  const known = actions.filter((a) => a.method === method && a.target.test(target));
  if (known.length === 0 || known.some((a) => a.name === name)) return undefined;
  const list = [...new Set(known.map((a) => `:${a.name}`))].sort().join(', ');
  return `unknown action "${name}" on ${target}; ${method} takes ${list}`;
}

/** The longest path parameter (an id, percent-encoded) the router takes. */
const MAX_PARAM_CHARS = 4096;

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
  if (first.keyword === 'enum') {
    const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return `${field ? `field "${field}" ` : ''}must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${field ? `field "${field}" ` : ''}${first.message ?? 'is not valid'}`;
}

function fastifyMessage(err: FastifyError, bodyLimitBytes: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than the limit of ${bodyLimitBytes} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send JSON with content-type: application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'request body is not valid JSON';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty; send a JSON object';
    default:
      return err.message;
  }
}

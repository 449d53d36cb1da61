import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { DeniedError } from '../../shared/errors.js';
import { isLoopback } from '../../shared/net.js';
import { isPublic } from './auth-hook.js';

/**
 * Keeps web pages from driving the leader through a browser (issue #20). An open leader on
 * loopback (the default) trusts whoever reaches its port, and a browser on the same
 * machine reaches it for any page it shows: a form or `fetch` could schedule work
 * (go-work's and the seed APIs take JSON under any content type, as curl sends it), an
 * `<img>` could hit `GET /start-job`, and a page whose name re-resolves to 127.0.0.1 (DNS
 * rebinding) could read the task list. Refused with 403, before anything runs:
 * - a request the browser marks as from another site (`Sec-Fetch-Site: cross-site` or
 *   `same-site`: another port of localhost is the same site but not this leader);
 * - a browser's prefetch or prerender (`Sec-Purpose`), which speculation rules send as
 *   `Sec-Fetch-Site: none`;
 * - a request whose `Origin` or `Referer` is not this leader's own (`Origin: null` too);
 * - when every HTTP address is loopback, a `Host` that is not a loopback name or address
 *   (or one of `allowedHosts`: a reverse proxy in front that passes its own name on).
 * curl, SDKs and other programs send none of those headers (or a loopback Host), and the
 * dashboard is same-origin, so none of them is affected; its files (GET only) may also be
 * opened from a link on another site.
 */
export function refuseCrossSite(
  app: FastifyInstance,
  loopbackOnly: boolean,
  allowedHosts: readonly string[] = [],
): void {
  const allowed = new Set(allowedHosts.map((name) => name.toLowerCase()));
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host;
    const name = host === undefined ? undefined : hostName(host);
    if (loopbackOnly && name !== undefined && !isLoopback(name) && !allowed.has(name)) {
      throw new DeniedError(
        `Host ${host!.slice(0, 200)} is refused: this leader serves loopback only and answers to localhost, 127.0.0.1 or [::1] (a guard against DNS rebinding; a proxy's name goes in --http-allowed-host)`,
      );
    }
    // The dashboard's own files may be opened from a link on another site (a wiki, a
    // Grafana panel): reading them changes nothing, and what the page then calls is checked.
    const readsPage =
      (request.method === 'GET' || request.method === 'HEAD') &&
      isPublic(request.routeOptions.config);
    if (!readsPage) refuseFromOtherPages(request.headers, host);
  });
}

/** Refuses a request a browser made for a page of another site (see refuseCrossSite). */
function refuseFromOtherPages(headers: IncomingHttpHeaders, host: string | undefined): void {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    throw new DeniedError(
      `a request from another site's page (Sec-Fetch-Site: ${site}) is refused: web pages cannot drive this leader`,
    );
  }
  // Speculation rules and link prefetches come as `Sec-Fetch-Site: none` with no Origin;
  // no page of the leader's own prefetches its API, so none is taken.
  const purpose = headers['sec-purpose'] ?? headers['purpose'];
  if (purpose !== undefined && /prefetch|prerender/i.test(String(purpose))) {
    throw new DeniedError(
      'a prefetch is refused: this API is called, never fetched ahead by a browser',
    );
  }
  // A browser's GET (an <img>, a navigation) carries no Origin, but its Referer, when
  // sent, still names the page it came from.
  for (const page of [headers.origin, headers.referer]) {
    if (page !== undefined && (host === undefined || !sameOrigin(page, host))) {
      throw new DeniedError(
        `a request from the page at ${page.slice(0, 200)} is refused: only this leader's own pages may call it`,
      );
    }
  }
}

/** Whether an `Origin` value names the origin a `Host` header is for. */
function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false; // `null` (sandboxed frames, file: pages) or junk
  }
}

/** The name or address of a `Host` header, without its port or IPv6 brackets. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d*$/, '').toLowerCase();
}

import type { HealthImplementation } from 'grpc-health-check';
import type { LeaderTimers } from '../leader-timers.js';
import { SERVICE_NAMES } from './server.js';

/** How often readiness is read: a load balancer's probe sees a change within this. */
export const HEALTH_FOLLOW_MS = 250;

/**
 * Keeps the standard gRPC health service telling what /readyz tells: SERVING while this
 * leader takes work, NOT_SERVING while it starts, stands by (a standby of a group answers
 * but serves no work; a gRPC load balancer must not send callers there) or shuts down.
 * The whole server and each drover service get the same status; Watch callers hear each
 * change. Returns the stop, which leaves every status NOT_SERVING.
 */
export function followReadiness(
  health: Pick<HealthImplementation, 'setStatus'>,
  isReady: () => boolean,
  timers: Pick<LeaderTimers, 'every'>,
): () => void {
  let serving: boolean | undefined;
  const update = (ready: boolean): void => {
    if (ready === serving) return;
    serving = ready;
    for (const name of ['', ...SERVICE_NAMES]) {
      health.setStatus(name, ready ? 'SERVING' : 'NOT_SERVING');
    }
  };
  update(isReady());
  const stop = timers.every(HEALTH_FOLLOW_MS, () => update(isReady()));
  return () => {
    stop();
    update(false);
  };
}

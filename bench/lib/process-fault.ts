import { setTimeout as sleep } from 'node:timers/promises';
import type { NetworkLab } from '../../test/helpers/network-lab.js';
import type { DroverProcess } from '../../test/helpers/processes.js';

/** A fault the chaos runs inject into a process. */
export type ProcessFaultKind = 'kill' | 'freeze' | 'cut' | 'stop';

/** How long a stopped (SIGTERM) process may take to exit before it is killed. */
const STOP_EXIT_MS = 15_000;

/**
 * Carries out one fault on `target` and undoes it: SIGKILL, then `restart` after
 * `restartAfterMs`; SIGSTOP for `heldMs`, then SIGCONT; its namespace's link down for
 * `heldMs`, then up (`target.index` names the namespace in `lab`); SIGTERM (a worker
 * drains: hands back what it holds unstarted, finishes what runs, leaves), and once it has
 * exited (SIGKILL after STOP_EXIT_MS), `restart` after `restartAfterMs`.
 */
export async function injectProcessFault(
  kind: ProcessFaultKind,
  target: { readonly process: DroverProcess; readonly index: number },
  heldMs: number,
  restartAfterMs: number,
  lab: NetworkLab | undefined,
  restart: () => Promise<void>,
): Promise<void> {
  switch (kind) {
    case 'kill':
      target.process.kill('SIGKILL');
      await target.process.exited;
      await sleep(restartAfterMs);
      await restart();
      return;
    case 'freeze':
      target.process.kill('SIGSTOP');
      await sleep(heldMs);
      target.process.kill('SIGCONT');
      return;
    case 'stop': {
      target.process.kill('SIGTERM');
      const timer = setTimeout(() => target.process.kill('SIGKILL'), STOP_EXIT_MS);
      await target.process.exited;
      clearTimeout(timer);
      await sleep(restartAfterMs);
      await restart();
      return;
    }
    case 'cut':
      lab!.cut(target.index);
      await sleep(heldMs);
      lab!.heal(target.index);
      return;
  }
}

/** How many items repeat an earlier one (duplicated completions, attempts run twice). */
export function extras(keys: readonly unknown[]): number {
  return keys.length - new Set(keys).size;
}

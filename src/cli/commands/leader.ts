import type { Command } from 'commander';
import { addLeaderOptions, leaderConfigFrom } from '../../leader/config.js';
import { stopSignal } from '../signals.js';

/** The IPC message a leader started by `drover dev` sends once it listens. */
export const LISTENING = 'drover.leader.listening';

/**
 * How long a stopped leader waits for the event loop to empty before it ends anyway. A
 * worker frozen mid-stream (SIGSTOP, a host gone) keeps its socket open past grpc-js's
 * forceShutdown, and with it this process, for as long as the peer stays frozen: an old
 * leader would then hold its port and data directory with nothing left to do.
 */
const EXIT_AFTER_STOP_MS = 500;

/** Ends the process soon after a clean stop, unless it ends by itself first. */
function exitSoonAfterStop(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_AFTER_STOP_MS).unref();
}

/** `drover leader`: run the leader process. */
export function registerLeader(program: Command): void {
  addLeaderOptions(
    program.command('leader').description('run the leader (membership + scheduler) on gRPC'),
  ).action(async (options: Record<string, unknown>) => {
    const config = leaderConfigFrom(options);
    // Loaded here, not at the top: other commands need neither the server nor SQLite.
    const { runLeader } = await import('../../leader/main.js');
    // Started by `drover dev` (an IPC channel): tell it where this leader listens, so it
    // talks to this leader and no other that may hold the default ports.
    await runLeader(config, stopSignal(), (where) => process.send?.({ type: LISTENING, ...where }));
    exitSoonAfterStop();
  });
}

import type { Command } from 'commander';
import { addLeaderOptions, leaderConfigFrom } from '../../leader/config.js';
import { exitSoonAfterStop, stopSignal } from '../signals.js';

/** The IPC message a leader started by `drover dev` sends once it listens. */
export const LISTENING = 'drover.leader.listening';

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

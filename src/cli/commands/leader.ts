import type { Command } from 'commander';
import { addLeaderOptions, leaderConfigFrom } from '../../leader/config.js';
import { stopSignal } from '../signals.js';

/** `drover leader`: run the leader process. */
export function registerLeader(program: Command): void {
  addLeaderOptions(
    program.command('leader').description('run the leader (membership + scheduler) on gRPC'),
  ).action(async (options: Record<string, unknown>) => {
    const config = leaderConfigFrom(options);
    // Loaded here, not at the top: other commands need neither the server nor SQLite.
    const { runLeader } = await import('../../leader/main.js');
    await runLeader(config, stopSignal());
  });
}

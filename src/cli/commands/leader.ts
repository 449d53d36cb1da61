import type { Command } from 'commander';
import { addLeaderOptions, leaderConfigFrom } from '../../leader/config.js';
import { runLeader } from '../../leader/main.js';
import { stopSignal } from '../signals.js';

/** `drover leader`: run the leader process. */
export function registerLeader(program: Command): void {
  addLeaderOptions(
    program.command('leader').description('run the leader (membership + scheduler) on gRPC'),
  ).action(async (options: Record<string, unknown>) => {
    await runLeader(leaderConfigFrom(options), stopSignal());
  });
}

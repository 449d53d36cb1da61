import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { StoreOpenError } from '../scheduler/store/store.js';
import { DroverError, StartupError } from '../shared/errors.js';
import { LeaderUnreachableError } from '../worker/link-errors.js';
import { EXIT } from './client.js';
import { registerCancel } from './commands/cancel.js';
import { registerCron } from './commands/cron.js';
import { registerDev } from './commands/dev.js';
import { registerDrain, registerUndrain } from './commands/drain.js';
import { registerLeader } from './commands/leader.js';
import { registerLimits } from './commands/limits.js';
import { registerLogs } from './commands/logs.js';
import { registerLeaders } from './commands/leaders.js';
import { registerMembers } from './commands/members.js';
import { registerPause } from './commands/pause.js';
import { registerRetry } from './commands/retry.js';
import { registerSchedule } from './commands/schedule.js';
import { registerTask } from './commands/task.js';
import { registerTasks } from './commands/tasks.js';
import { registerWatch } from './commands/watch.js';
import { registerToken } from './commands/token.js';
import { registerWorker } from './commands/worker.js';
import { exitQuietlyWhenOutputCloses } from './output.js';
import { moveLeadingClientOptions } from './leading-options.js';
import { refuseMalformedInput } from './utf8-text.js';

/** Builds the `drover` command line. */
export function buildProgram(): Command {
  const program = new Command('drover')
    .description('drover: a leader/worker task cluster over gRPC')
    .version(packageVersion(), '-V, --version', 'print the version')
    // One line after an error, not the whole help: the error is what the user must see.
    .showHelpAfterError('(see drover --help)')
    .exitOverride();
  registerLeader(program);
  registerWorker(program);
  registerDev(program);
  registerMembers(program);
  registerLeaders(program);
  registerTasks(program);
  registerTask(program);
  registerSchedule(program);
  registerPause(program);
  registerLimits(program);
  registerCron(program);
  registerRetry(program);
  registerCancel(program);
  registerDrain(program);
  registerUndrain(program);
  registerWatch(program);
  registerLogs(program);
  registerToken(program);
  nameHelpAfterErrors(program);
  return program;
}

/**
 * After a usage error, every command names its own help (`drover limits set --help`): a
 * bare "add --help" left the user to guess which command's help would explain it.
 */
function nameHelpAfterErrors(command: Command, path: readonly string[] = []): void {
  for (const sub of command.commands) {
    const subPath = [...path, sub.name()];
    sub.showHelpAfterError(`(see drover ${subPath.join(' ')} --help)`);
    nameHelpAfterErrors(sub, subPath);
  }
}

/** The installed package's version (package.json sits two levels above dist/cli/). */
function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Runs the CLI with process arguments; sets the exit code rather than throwing. */
export async function main(argv: readonly string[]): Promise<void> {
  exitQuietlyWhenOutputCloses();
  try {
    // argv[0] and argv[1] are node and this script; only the user's arguments are checked.
    refuseMalformedInput(argv.slice(2), process.env);
    const [node = 'node', script = 'drover', ...args] = argv;
    await buildProgram().parseAsync([node, script, ...moveLeadingClientOptions(args)]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    if (err instanceof DroverError) {
      // Configuration errors found at start-up, and input refused before any call.
      process.stderr.write(`drover: ${err.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof LeaderUnreachableError) {
      // A worker that gave up on its leaders: the message says what was tried and why.
      process.stderr.write(`drover: worker: ${err.message}\n`);
      process.exitCode = EXIT.unreachable;
      return;
    }
    if (err instanceof StoreOpenError || err instanceof StartupError) {
      // A data directory the leader must not touch, a busy port: say why, and nothing else.
      process.stderr.write(`drover: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(
      `drover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}

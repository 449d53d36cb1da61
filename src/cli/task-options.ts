import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import { TaskPriority, type Task } from '../gen/scheduler/v1/scheduler.js';
import { POLICY_LIMITS } from '../scheduler/retry-policy.js';
import { boundedIntOption } from './int-option.js';

/** The options that say what a task is and how it runs, as commander parses them. */
export type TaskShapeOptions = {
  payloadFile?: string;
  priority: string;
  kind?: string;
  target?: string;
  maxAttempts?: number;
  retryBackoffMs?: number;
  attemptTimeoutMs?: number;
  concurrencyKey?: string;
};

/**
 * The options of any command that makes a task (`schedule`, `cron add`): payload file,
 * priority, kind, concurrency key, target and the retry policy. The leader's own limits
 * are checked here too, so a bad value fails before any call (exit 2).
 */
export function addTaskShapeOptions(command: Command): Command {
  return command
    .option('--payload-file <file>', 'read the payload from this file (-: stdin), as UTF-8 text')
    .addOption(
      new Option('--priority <priority>', 'queue priority')
        .choices(['low', 'medium', 'high'])
        .default('medium'),
    )
    .addOption(
      new Option('--kind <kind>', 'handler to run (default: "default")').argParser(nonEmpty),
    )
    .addOption(
      new Option(
        '--concurrency-key <key>',
        "share this key's limits (drover limits) and pause with its other tasks",
      ).argParser(nonEmpty),
    )
    .addOption(new Option('--target <member>', 'run only on this member').argParser(nonEmpty))
    .addOption(
      boundedIntOption('--max-attempts <n>', "attempts before it fails (default: the leader's)", {
        min: 1,
        max: POLICY_LIMITS.maxAttempts,
      }),
    )
    .addOption(
      boundedIntOption(
        '--retry-backoff-ms <ms>',
        "delay before the first retry, doubling per attempt (default: the leader's)",
        { min: 0, max: POLICY_LIMITS.retryBackoffMs },
      ),
    )
    .addOption(
      boundedIntOption(
        '--attempt-timeout-ms <ms>',
        "stop and retry an attempt running longer; 0: no limit (default: the leader's)",
        { min: 0, max: POLICY_LIMITS.timeoutMs },
      ),
    );
}

/** An option value that must not be empty (an unset shell variable must not mean "none"). */
export function nonEmpty(value: string): string {
  if (value === '') throw new CommanderArgumentError('must not be empty');
  return value;
}

/** The Task fields those options set. */
export function taskShapeFields(options: TaskShapeOptions): Partial<Task> {
  return {
    priority:
      TaskPriority[`TASK_PRIORITY_${options.priority.toUpperCase()}` as keyof typeof TaskPriority],
    kind: options.kind ?? '',
    targetMemberId: options.target ?? '',
    maxAttempts: options.maxAttempts ?? 0,
    retryBackoffMs: options.retryBackoffMs,
    timeoutMs: options.attemptTimeoutMs,
    concurrencyKey: options.concurrencyKey ?? '',
  };
}

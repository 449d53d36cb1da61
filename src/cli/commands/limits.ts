import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import { Limit, ListLimitsResponse } from '../../gen/scheduler/v1/scheduler.js';
import { describeRate, KEY_LIMIT_BOUNDS } from '../../scheduler/key-limits.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { parseDuration } from '../../shared/duration.js';
import { boundedIntOption } from '../int-option.js';
import { print, printJson, printTable, printListJson } from '../output.js';

type LimitOptions = ClientOptions & {
  kind?: string;
  maxRunning?: number;
  rate?: { count: number; intervalMs: number };
  burst?: number;
};

/** `100/1m`, `5/s`, `10/500ms`: starts per interval (see duration.ts; a bare unit is 1). */
export function parseRate(value: string): { count: number; intervalMs: number } {
  const match = /^\s*(\d+)\s*\/\s*([0-9a-z.]+)\s*$/.exec(value);
  const count = match ? Number(match[1]) : NaN;
  // A bare unit is one of it (5/s); a bare number has no unit and is refused.
  const per = match?.[2] ?? '';
  const intervalMs = parseDuration(/^[a-z]+$/.test(per) ? `1${per}` : per);
  if (
    !Number.isSafeInteger(count) ||
    count < 1 ||
    count > KEY_LIMIT_BOUNDS.rateCount ||
    intervalMs === undefined ||
    !Number.isInteger(intervalMs) ||
    intervalMs < 1 ||
    intervalMs > KEY_LIMIT_BOUNDS.rateIntervalMs
  ) {
    throw new CommanderArgumentError(
      `expected starts per interval such as 100/1m, 5/s or 10/500ms (1-${KEY_LIMIT_BOUNDS.rateCount} per 1 ms to 1 day), got "${value}"`,
    );
  }
  return { count, intervalMs };
}

/**
 * `drover limits` (list), `drover limits set KEY|--kind K --max-running N --rate 100/1m`
 * and `drover limits remove KEY|--kind K`: how many tasks of a concurrency key run at once
 * and how fast they start.
 */
export function registerLimits(program: Command): void {
  const limits = program
    .command('limits')
    .description('concurrency and rate limits per concurrency key (and defaults per kind)');
  // The default subcommand, so `drover limits --leader X` lists: options given to the
  // parent itself would swallow a subcommand's --leader.
  addClientOptions(
    limits.command('list', { isDefault: true }).description('list the limits (the default)'),
  )
    // A word that is not a subcommand lands here (the default): say so, not "too many
    // arguments for 'list'".
    .allowExcessArguments(true)
    .action((options: ClientOptions, command: Command) => {
      const [word] = command.args;
      if (word !== undefined) {
        throw new InvalidArgumentError(`unknown command "limits ${word}": use list, set or remove`);
      }
      return list(options);
    });
  registerSet(limits);
  registerRemove(limits);
}

function registerSet(limits: Command): void {
  addClientOptions(
    limits
      .command('set')
      .description('set (replace) the limit of a concurrency key, or the default of a kind')
      .argument('[key]', 'the concurrency key')
      .option('--kind <kind>', "instead of a key: the default for each key of this kind's tasks")
      .addOption(
        boundedIntOption('--max-running <n>', 'tasks of the key running at once', {
          min: 1,
          max: KEY_LIMIT_BOUNDS.maxRunning,
        }),
      )
      .addOption(
        new Option('--rate <n/interval>', 'starts per interval: 100/1m, 5/s, 10/500ms').argParser(
          parseRate,
        ),
      )
      .addOption(
        boundedIntOption('--burst <n>', 'starts at once after a quiet spell (default 1)', {
          min: 1,
          max: KEY_LIMIT_BOUNDS.rateCount,
        }),
      ),
  ).action((key: string | undefined, options: LimitOptions) => {
    const target = targetOf(key, options);
    if (options.maxRunning === undefined && options.rate === undefined) {
      throw new InvalidArgumentError('give --max-running N, --rate N/INTERVAL or both');
    }
    if (options.burst !== undefined && options.rate === undefined) {
      throw new InvalidArgumentError('--burst needs --rate');
    }
    if (options.burst !== undefined && options.burst > options.rate!.count) {
      throw new InvalidArgumentError(
        `--burst ${options.burst} is more than the rate's ${options.rate!.count} starts per interval`,
      );
    }
    return withClients(options, async (clients) => {
      const { limit } = await call(clients, clients.scheduler.setLimit.bind(clients.scheduler), {
        limit: {
          ...target,
          maxRunning: options.maxRunning,
          rateCount: options.rate?.count,
          rateIntervalMs: options.rate?.intervalMs,
          rateBurst: options.burst,
          running: 0,
          queued: 0,
        },
      });
      if (options.json) return printJson(limit ? Limit.toJSON(limit) : {});
      print(`limit set on ${describeTarget(target)}: ${describeLimit(limit!)}`);
    });
  });
}

function registerRemove(limits: Command): void {
  addClientOptions(
    limits
      .command('remove')
      .description('lift the limit of a concurrency key, or the default of a kind')
      .argument('[key]', 'the concurrency key')
      .option('--kind <kind>', 'instead of a key: the default of this kind'),
  ).action((key: string | undefined, options: LimitOptions) => {
    const target = targetOf(key, options);
    return withClients(options, async (clients) => {
      const { changed } = await call(
        clients,
        clients.scheduler.removeLimit.bind(clients.scheduler),
        target,
      );
      if (options.json) return printJson({ changed });
      print(
        changed
          ? `limit lifted on ${describeTarget(target)}`
          : `${describeTarget(target)} had no limit`,
      );
    });
  });
}

function list(options: ClientOptions): Promise<void> {
  return withClients(options, async (clients) => {
    const response = await call(clients, clients.scheduler.listLimits.bind(clients.scheduler), {});
    if (options.json) return printListJson('limits', ListLimitsResponse.toJSON(response) as object);
    if (response.limits.length === 0) return print('no limits');
    printTable(
      ['LIMIT ON', 'MAX RUNNING', 'RATE', 'RUNNING', 'QUEUED'],
      response.limits.map((l) => [
        describeTarget(l),
        l.maxRunning === undefined ? '-' : String(l.maxRunning),
        rateOf(l),
        l.key === '' ? '-' : String(l.running),
        l.key === '' ? '-' : String(l.queued),
      ]),
    );
  });
}

/** Exactly one of a key argument and --kind, checked before connecting (exit 2). */
function targetOf(key: string | undefined, options: LimitOptions): { kind: string; key: string } {
  if ((key === undefined) === (options.kind === undefined)) {
    throw new InvalidArgumentError('give a concurrency key or --kind KIND (one of them)');
  }
  return { kind: options.kind ?? '', key: key ?? '' };
}

function describeTarget(target: { kind: string; key: string }): string {
  return target.kind !== '' ? `kind ${target.kind} (each key)` : `key ${target.key}`;
}

function rateOf(limit: Limit): string {
  if (limit.rateCount === undefined || limit.rateIntervalMs === undefined) return '-';
  return describeRate({
    count: limit.rateCount,
    intervalMs: limit.rateIntervalMs,
    burst: limit.rateBurst ?? 1,
  });
}

function describeLimit(limit: Limit): string {
  const parts: string[] = [];
  if (limit.maxRunning !== undefined) parts.push(`at most ${limit.maxRunning} running`);
  if (limit.rateCount !== undefined) parts.push(`at most ${rateOf(limit)} starts`);
  return parts.join(', ');
}

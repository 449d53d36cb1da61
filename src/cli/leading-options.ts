// `drover --leader h:50051 members`: connection options written before the command.
import { Command } from 'commander';
import { addClientOptions } from './client.js';

/**
 * Users of kubectl, docker and git write connection flags before the command (`drover
 * --leader h:50051 --json members`), and commander would refuse them there as unknown
 * options of `drover` itself. Client options at the front of `args` (the user's arguments,
 * without node and the script) move to the end, where the command reads them; before a
 * `--` if there is one, whose tail is data. Anything else at the front (`--help`, a typo)
 * stops the move and is left for commander to judge, as is a front with no command after it.
 */
export function moveLeadingClientOptions(args: readonly string[]): string[] {
  const options = addClientOptions(new Command()).options;
  const leading: string[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = options.find((o) => o.long === flag);
    if (option === undefined) break;
    const takesValue = eq === -1 && (option.required || option.optional);
    if (takesValue && i + 1 >= args.length) break;
    leading.push(...args.slice(i, takesValue ? i + 2 : i + 1));
    i += takesValue ? 2 : 1;
  }
  const rest = args.slice(i);
  if (leading.length === 0 || rest.length === 0) return [...args];
  const dataFrom = rest.indexOf('--');
  return dataFrom === -1
    ? [...rest, ...leading]
    : [...rest.slice(0, dataFrom), ...leading, ...rest.slice(dataFrom)];
}

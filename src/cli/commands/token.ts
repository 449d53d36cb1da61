import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../leader/auth/roles.js';
import { createToken, listTokens, revokeToken } from '../../leader/auth/token-store.js';
import { hashToken } from '../../leader/auth/token-file.js';
import { print, printJson, printTable } from '../output.js';

const tokensFile = () =>
  new Option('--tokens-file <file>', 'the leader’s tokens file')
    .env('DROVER_TOKENS_FILE')
    .makeOptionMandatory();

/**
 * `drover token create|list|revoke`: the leader's tokens file (issue #20). A new token is
 * printed once; the file keeps only its SHA-256. Leaders read the file when they start.
 */
export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('create, list or revoke API and join tokens in a tokens file');
  token
    .command('create')
    .description('make a token, print it once, store its hash')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .option('--name <name>', 'what logs and refusals call it (default: the role and a number)')
    .addOption(tokensFile())
    .action((options: { role: Role; name?: string; tokensFile: string }) => {
      const secret = createToken(options.tokensFile, options.name, options.role);
      const name =
        options.name ??
        listTokens(options.tokensFile).find(
          (t) => t.role === options.role && t.sha256 === hashToken(secret),
        )?.name;
      print(secret);
      process.stderr.write(
        `token "${name}" (role ${options.role}) added to ${options.tokensFile}; it is not shown again. Restart the leader to use it.\n`,
      );
    });
  token
    .command('list')
    .description('names and roles of the tokens in the file')
    .addOption(tokensFile())
    .option('--json', 'print JSON')
    .action((options: { tokensFile: string; json?: boolean }) => {
      const entries = listTokens(options.tokensFile).map(({ name, role }) => ({ name, role }));
      if (options.json) return printJson({ tokens: entries });
      if (entries.length === 0) return print('no tokens');
      printTable(
        ['NAME', 'ROLE'],
        entries.map((entry) => [entry.name, entry.role]),
      );
    });
  token
    .command('revoke')
    .description('remove a token from the file (restart the leader to apply)')
    .argument('<name>', 'the token’s name')
    .addOption(tokensFile())
    .action((name: string, options: { tokensFile: string }) => {
      if (!revokeToken(options.tokensFile, name)) {
        process.stderr.write(
          `drover: no token named "${name.slice(0, 80)}" in ${options.tokensFile}\n`,
        );
        process.exitCode = 1;
        return;
      }
      print(`revoked ${name}; restart the leader to apply`);
      if (listTokens(options.tokensFile).length === 0) {
        process.stderr.write(
          `drover: ${options.tokensFile} holds no tokens now; a leader will not start with it (drover token create)\n`,
        );
      }
    });
}

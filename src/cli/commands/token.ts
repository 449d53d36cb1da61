import { existsSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../../shared/errors.js';
import { ROLES, type Role } from '../../leader/auth/roles.js';
import { createToken, listTokens, revokeToken } from '../../leader/auth/token-store.js';
import { hashToken } from '../../leader/auth/token-file.js';
import { print, printJson, printTable } from '../output.js';

const tokensFile = () =>
  new Option('--tokens-file <file>', 'the leader’s tokens file')
    .env('DROVER_TOKENS_FILE')
    .makeOptionMandatory();

interface CreateOptions {
  readonly role: Role;
  readonly name?: string;
  readonly out?: string;
  readonly tokensFile: string;
}

/** `drover token create`: a new token, printed (or written to --out) once. */
function createAction(options: CreateOptions): void {
  // Checked first, so a file in the way does not leave a token nobody has.
  if (options.out !== undefined && existsSync(options.out)) {
    throw new InvalidArgumentError(`--out ${options.out} exists; give a new file`);
  }
  const secret = createToken(options.tokensFile, options.name, options.role);
  const name =
    options.name ??
    listTokens(options.tokensFile).find(
      (t) => t.role === options.role && t.sha256 === hashToken(secret),
    )?.name;
  if (options.out === undefined) print(secret);
  else writeTokenFile(options, name ?? '', secret);
  process.stderr.write(
    `token "${name}" (role ${options.role}) added to ${options.tokensFile}; it is not shown again${options.out === undefined ? '' : ` (it is in ${options.out}, for --token-file)`}. A running leader takes it within 2 s.\n`,
  );
}

/**
 * Writes a new token to `--out`, readable by its owner only (what --token-file wants); if
 * that fails, the token is revoked again, so no token exists that nobody holds.
 */
function writeTokenFile(options: CreateOptions, name: string, secret: string): void {
  try {
    writeFileSync(options.out!, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    revokeToken(options.tokensFile, name);
    throw new InvalidArgumentError(
      `cannot write --out ${options.out}: ${(err as Error).message}; no token was added`,
    );
  }
}

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
    .option('--out <file>', 'write the token to this new file (mode 0600) instead of printing it')
    .addOption(tokensFile())
    .action(createAction);
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
    .description('remove a token from the file (a running leader reads it again within 2 s)')
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
      print(`revoked ${name}; a running leader refuses it within 2 s`);
      if (listTokens(options.tokensFile).length === 0) {
        process.stderr.write(
          `drover: ${options.tokensFile} holds no tokens now; a leader will not start with it (drover token create)\n`,
        );
      }
    });
}

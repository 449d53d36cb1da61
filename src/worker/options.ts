import { intOption, listOption, switchOption, textOption } from '../shared/options/kinds.js';
import { LOG_OPTIONS } from '../shared/options/log-options.js';
import { optionTable, type OptionSections } from '../shared/options/table.js';
import { DEFAULT_KILL_GRACE_MS } from './handlers/process-group.js';
import { DEFAULT_RESULT_LIMIT_BYTES } from './outcome.js';
import { DEFAULT_STOP_GRACE_MS } from './runner.js';

/**
 * Every option of `drover worker`, in the order its help lists them; `config.ts` compiles
 * the sections into the worker's config, and `npm run docs:config` writes them into the
 * README. A `docs.meaning` is the README's wording where the help line is too terse.
 */

/** The worker's option table. */
export const WORKER_OPTIONS = optionTable([
  listOption({
    section: 'leader',
    key: 'addresses',
    flags: '--leader <host:port...>',
    help: 'leader addresses, tried in turn',
    env: 'DROVER_LEADER',
    default: ['127.0.0.1:50051'],
  }),
  textOption({
    section: 'member',
    key: 'id',
    flags: '--id <id>',
    help: 'member id (default: host name + random suffix)',
    env: 'DROVER_WORKER_ID',
    docs: { meaning: 'member id', default: 'host name + random suffix' },
  }),
  textOption({
    section: 'member',
    key: 'address',
    flags: '--address <text>',
    help: 'address shown in Members (informational)',
    env: 'DROVER_WORKER_ADDRESS',
    default: '',
    docs: { meaning: 'shown in Members (workers listen on nothing)' },
  }),
  // The leader refuses more than 10,000 slots on Join; say so before connecting.
  intOption({
    section: 'member',
    key: 'slots',
    flags: '--slots <n>',
    help: 'tasks run at once',
    env: 'DROVER_SLOTS',
    default: 4,
    min: 1,
    max: 10_000,
  }),
  listOption({
    section: 'commands',
    key: 'allow',
    flags: '--allow-command <cmd...>',
    help: 'commands the command handler may run (off when none)',
    env: 'DROVER_ALLOW_COMMANDS',
    default: [],
    docs: { meaning: 'commands the `command` handler may run', default: 'none: commands off' },
  }),
  intOption({
    section: 'commands',
    key: 'outputLimitBytes',
    flags: '--output-limit-bytes <n>',
    help: 'stdout/stderr kept per command',
    env: 'DROVER_OUTPUT_LIMIT_BYTES',
    default: 64 * 1024,
    docs: { meaning: 'stdout and stderr kept per command' },
  }),
  intOption({
    section: 'tasks',
    key: 'resultLimitBytes',
    flags: '--result-limit-bytes <n>',
    help: "largest task result (UTF-8); keep it well below the leader's 4 MiB message limit",
    env: 'DROVER_RESULT_LIMIT_BYTES',
    default: DEFAULT_RESULT_LIMIT_BYTES,
    docs: {
      meaning: "largest task result (UTF-8 bytes); keep it below the leader's 4 MiB message limit",
    },
  }),
  intOption({
    section: 'tasks',
    key: 'stopGraceMs',
    flags: '--stop-grace-ms <ms>',
    help: 'after a cancel or timeout, time a handler gets to stop before its slot is freed',
    env: 'DROVER_STOP_GRACE_MS',
    default: DEFAULT_STOP_GRACE_MS,
    docs: { meaning: 'after a cancel, timeout or stop, how long a handler may take to end' },
  }),
  listOption({
    section: 'commands',
    key: 'env',
    flags: '--command-env <name...>',
    help: "the worker's environment variables commands get (else only a system PATH)",
    env: 'DROVER_COMMAND_ENV',
    default: [],
    docs: {
      meaning: "variables of the worker's environment passed to commands",
      default: 'none (PATH=/usr/local/bin:/usr/bin:/bin)',
    },
  }),
  textOption({
    section: 'commands',
    key: 'cwd',
    flags: '--command-cwd <dir>',
    help: 'working directory of commands (default: the worker’s)',
    env: 'DROVER_COMMAND_CWD',
    docs: { meaning: 'the working directory commands run in', default: "the worker's" },
  }),
  textOption({
    section: 'commands',
    key: 'user',
    flags: '--command-user <user>',
    help: 'run commands as this user (name or uid:gid); the worker must run as root',
    env: 'DROVER_COMMAND_USER',
    docs: {
      meaning: "run commands as another user, so they cannot read the worker's /proc or files",
      default: "the worker's",
    },
  }),
  switchOption({
    section: 'commands',
    key: 'allowCwd',
    flags: '--command-allow-cwd',
    help: 'let a command payload choose its working directory ("cwd")',
    env: 'DROVER_COMMAND_ALLOW_CWD',
    default: false,
  }),
  intOption({
    section: 'commands',
    key: 'killGraceMs',
    flags: '--command-kill-grace-ms <ms>',
    help: "after SIGTERM to a command's process group, time until SIGKILL",
    env: 'DROVER_COMMAND_KILL_GRACE_MS',
    default: DEFAULT_KILL_GRACE_MS,
  }),
  intOption({
    section: 'demo',
    key: 'defaultMs',
    flags: '--demo-default-ms <ms>',
    help: 'demo work time when the payload is no number',
    env: 'DROVER_DEMO_DEFAULT_MS',
    default: 1000,
    min: 0,
  }),
  intOption({
    section: 'demo',
    key: 'maxMs',
    flags: '--demo-max-ms <ms>',
    help: 'longest demo work time',
    env: 'DROVER_DEMO_MAX_MS',
    default: 600_000,
    min: 0,
  }),
  intOption({
    section: 'tasks',
    key: 'drainTimeoutMs',
    flags: '--drain-timeout-ms <ms>',
    help: 'on SIGTERM, time tasks get to finish',
    env: 'DROVER_DRAIN_TIMEOUT_MS',
    default: 30_000,
    min: 0,
    docs: { meaning: 'on SIGTERM, time running tasks get' },
  }),
  intOption({
    section: 'leader',
    key: 'giveUpAfterMs',
    flags: '--give-up-after-ms <ms>',
    help: 'exit 3 after this long without a leader',
    env: 'DROVER_GIVE_UP_AFTER_MS',
    default: 300_000,
  }),
  textOption({
    section: 'tls',
    key: 'caFile',
    flags: '--tls-ca <file>',
    help: "PEM CA that signed the leader's cert; enables TLS",
    env: 'DROVER_TLS_CA',
  }),
  textOption({
    section: 'tls',
    key: 'certFile',
    flags: '--tls-cert <file>',
    help: 'client certificate for mTLS',
    env: 'DROVER_TLS_CERT',
  }),
  textOption({
    section: 'tls',
    key: 'keyFile',
    flags: '--tls-key <file>',
    help: 'client key for mTLS',
    env: 'DROVER_TLS_KEY',
  }),
  textOption({
    section: 'leader',
    key: 'token',
    flags: '--token <token>',
    help: 'join token (role worker), for a leader with tokens (drover token create --role worker)',
    env: 'DROVER_TOKEN',
    docs: {
      meaning: "the worker's join token, sent on Join, Heartbeat and Leave",
      default: 'none',
    },
  }),
  textOption({
    section: 'leader',
    key: 'tokenFile',
    flags: '--token-file <file>',
    help: 'read the join token from this file (kept off the command line ps shows)',
    env: 'DROVER_TOKEN_FILE',
    docs: { meaning: 'the join token, read from a file (first line)', default: 'none' },
  }),
  switchOption({
    section: 'tls',
    key: 'enabled',
    flags: '--tls',
    help: 'use TLS with the system CAs',
    env: 'DROVER_TLS',
    default: false,
  }),
  textOption({
    section: 'metrics',
    key: 'listen',
    flags: '--metrics-listen <host:port>',
    help: 'serve Prometheus metrics at http://host:port/metrics (loopback only, unless --metrics-allow-remote)',
    env: 'DROVER_METRICS_LISTEN',
    docs: { meaning: "serve the worker's Prometheus metrics here", default: 'off' },
  }),
  switchOption({
    section: 'metrics',
    key: 'allowRemote',
    flags: '--metrics-allow-remote',
    help: 'let --metrics-listen take a non-loopback address (plain HTTP, read-only)',
    env: 'DROVER_METRICS_ALLOW_REMOTE',
    default: false,
  }),
  ...LOG_OPTIONS,
]);

/** The worker's options as read back, one readonly object per section. */
export type WorkerSections = OptionSections<typeof WORKER_OPTIONS>;

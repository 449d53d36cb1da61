import { choiceOption } from './kinds.js';
import { optionTable } from './table.js';

/** The pino levels `--log-level` takes. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The log options every drover process ends its table with: section `log`. */
export const LOG_OPTIONS = optionTable([
  choiceOption({
    section: 'log',
    key: 'level',
    flags: '--log-level <level>',
    help: 'pino log level',
    env: 'DROVER_LOG_LEVEL',
    choices: LOG_LEVELS,
    default: 'info',
  }),
  choiceOption({
    section: 'log',
    key: 'format',
    flags: '--log-format <format>',
    help: 'json lines, or pretty for people',
    env: 'DROVER_LOG_FORMAT',
    choices: ['json', 'pretty'],
    default: 'json',
  }),
]);

// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/gen/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Issue #15: a function that does not fit on a screen does more than one thing. Keep
    // one longer only with an eslint-disable comment that says why.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
  {
    // The pure cores do no I/O: they get time and input and return effects. Every file of
    // them, not a list: a new core file is covered the day it is added.
    files: ['src/scheduler/*.ts', 'src/leader/membership/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@grpc/*', 'pino', 'fastify', 'better-sqlite3', 'node:*'],
              message: 'a core does no I/O: the adapters (src/leader/grpc, http, store) do',
            },
            {
              group: ['**/gen/**', '**/leader/**', '../*.js', '**/store/**'],
              message: 'a core imports no adapter, no generated code and nothing of the leader',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'clearTimeout',
        'clearInterval',
        'clearImmediate',
        'queueMicrotask',
        'performance',
        'Date',
        'process',
      ],
    },
  },
);

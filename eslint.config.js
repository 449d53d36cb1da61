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
    // The pure cores do no I/O: they get time and input and return effects.
    files: [
      'src/leader/membership/state.ts',
      'src/scheduler/queue.ts',
      'src/scheduler/scheduler.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ['@grpc/*', 'pino', 'node:*', '*/gen/*'],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'Date'],
    },
  },
);

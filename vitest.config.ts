import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Unit tests run first: they are fast and catch most mistakes.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          // Each test file starts its own leader and workers on ephemeral ports.
          testTimeout: 30_000,
          hookTimeout: 30_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});

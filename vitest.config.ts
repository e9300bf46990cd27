import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Real-component suites (runc, overlayfs, a registry) are slow but must not share state.
    fileParallelism: true,
  },
});

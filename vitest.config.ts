import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Under CI=true a missing real component fails the run instead of skipping suites.
    globalSetup: ['test/setup/real-components.ts'],
    testTimeout: 30_000,
    // Real-component suites (runc, overlayfs, a registry) are slow but must not share state.
    fileParallelism: true,
  },
});

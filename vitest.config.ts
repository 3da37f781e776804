import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // Kafka, S3, MLflow and the deployment tools, started on a test file's first request and stopped at the end.
    globalSetup: ['test/setup/test-servers.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: TF.js training and server tests compete for CPU, so files run one or two at a time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});

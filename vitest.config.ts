import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Every flts process a test starts (CLI runs, serve replicas, daemons: hundreds per run) compiles the same
// modules again; V8's code cache on disk spares most of that (a fifth of the CPU of a CLI-heavy test file).
// Set here, before the workers are forked, so they and every process they start inherit it. Node checks each
// entry against the source it was made from, so a rebuild never runs stale code.
process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'flts-test-compile-cache');

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

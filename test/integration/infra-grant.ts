import type { Servers } from '../helpers/servers.js';

let granted: Servers | undefined;

/** Keeps the shared Kafka and S3 servers ./infra-env.js waited for, for helpers that must not wait themselves. */
export function grantInfra(servers: Servers): void {
  granted = servers;
}

/**
 * The shared servers' variables, once the test file has waited for them by importing ./infra-env.js. A helper
 * that embedded-only tests also import (daemon-harness.ts) reads them here, so those tests never wait for Kafka.
 */
export function grantedInfraVars(): Record<string, string> {
  if (!granted) throw new Error('The shared Kafka and S3 servers were not asked for: a test file that uses them imports ./infra-env.js.');
  return granted.vars;
}

import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';

const require = createRequire(import.meta.url);
let loaded: typeof KafkaJs | undefined;

/**
 * kafkajs, loaded when the first Kafka client is built. Its ~140 modules were loaded by every command (the bus and
 * offsets modules reach the CLI's base command) though a home on the fs bus never uses them. It is CommonJS, so a
 * require keeps the bus factories synchronous.
 */
export function kafkajs(): typeof KafkaJs {
  loaded ??= require('kafkajs') as typeof KafkaJs;
  return loaded;
}

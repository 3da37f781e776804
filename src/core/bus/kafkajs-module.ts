import type * as KafkaJs from 'kafkajs';
import { lazyRequire } from '../lazy-require.js';

/**
 * kafkajs, loaded when the first Kafka client is built. Its ~140 modules were loaded by every command (the bus and
 * offsets modules reach the CLI's base command) though a home on the fs bus never uses them.
 */
export const kafkajs = lazyRequire<typeof KafkaJs>('kafkajs');

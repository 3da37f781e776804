import kafkajs, { type KafkaConfig } from 'kafkajs';
import { ignoreKafkajsNegativeTimeouts } from '../../src/core/bus/kafkajs-warnings.js';

/**
 * A kafkajs client of a test's own (to create topics, grant ACLs or set offsets beside the code under test), with the
 * filter flts' clients install: kafkajs' idle request queues arm timers at about minus the epoch time, and a test file
 * whose first client was its own printed Node's TimeoutNegativeWarning into every CI log (see kafkajs-warnings.ts).
 */
export function rawKafka(config: KafkaConfig): InstanceType<typeof kafkajs.Kafka> {
  ignoreKafkajsNegativeTimeouts();
  return new kafkajs.Kafka(config);
}

/** The TimeoutNegativeWarnings this process reports from now on, for a test to assert there are none. */
export function collectNegativeTimeoutWarnings(): { warnings: string[]; stop: () => void } {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    if (warning.name === 'TimeoutNegativeWarning') warnings.push(`${warning.name}: ${warning.message}`);
  };
  process.on('warning', onWarning);
  return { warnings, stop: () => void process.off('warning', onWarning) };
}

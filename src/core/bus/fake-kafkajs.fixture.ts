/**
 * What `kafkajs-module.js` gives, with a Kafka client whose admin is `admin` (the calls a test scripts) and whose
 * producer connects and does nothing: the Kafka bus's own code over brokers a test plays.
 */
export function fakeKafkajsModule(admin: object, logs?: FakeKafkaLogs): { kafkajs: () => unknown } {
  class Kafka {
    admin = () => admin;
    producer = () => ({ connect: async () => {}, disconnect: async () => {} });
    constructor(config: { logCreator?: (level: number) => (entry: FakeKafkaLogEntry) => void }) {
      if (logs) logs.emit = config.logCreator?.(4);
    }
  }
  return { kafkajs: () => ({ Kafka, Partitioners: { DefaultPartitioner: () => () => 0 }, logLevel: { ERROR: 1, WARN: 2, INFO: 4 } }) };
}

/** A line as kafkajs hands it to its log creator. */
export interface FakeKafkaLogEntry {
  namespace: string;
  level: number;
  label: string;
  log: { message: string; [field: string]: unknown };
}

/** Where a test finds the log creator of the latest client made: its lines are what the bus hears from kafkajs. */
export interface FakeKafkaLogs {
  emit?: (entry: FakeKafkaLogEntry) => void;
}

/**
 * What `kafkajs-module.js` gives, with a Kafka client whose admin is `admin` (the calls a test scripts) and whose
 * producer connects and does nothing: the Kafka bus's own code over brokers a test plays.
 */
export function fakeKafkajsModule(admin: object): { kafkajs: () => unknown } {
  class Kafka {
    admin = () => admin;
    producer = () => ({ connect: async () => {}, disconnect: async () => {} });
  }
  return { kafkajs: () => ({ Kafka, Partitioners: { DefaultPartitioner: () => () => 0 }, logLevel: { INFO: 4 } }) };
}

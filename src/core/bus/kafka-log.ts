import { logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { BUS_CLOSED_REASON } from './kafka-connections.js';
import { isGroupLookupDenial } from './kafka-failure.js';

/**
 * kafkajs' own chatter goes to debug; its warnings and errors stay visible, without the stack it attaches to each
 * failed connection attempt: the reason is in the message, and flts reports the failure itself, coded. A broker's
 * error answer to one request ("Response GroupCoordinator", "Response CreateTopics") is thrown to its caller as
 * well, which retries it (a coordinator or leader still being elected, a topic another process created first) or
 * fails coded: a warning, not an error on every fresh start. The bus ending its own connections when it closes is
 * no failure at all: debug. `onGroupLookupDenied` hears of a coordinator lookup the broker's ACLs refused, which
 * kafkajs reports only here (see isGroupLookupDenial).
 */
export function kafkaLogCreator(logger: Logger, onGroupLookupDenied: () => void = () => {}): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, stack: _stack, ...fields } = log as typeof log & { stack?: unknown };
      const entry = { kafka: namespace, ...fields };
      const brokerAnswer = namespace === 'Connection' && message.startsWith('Response ');
      if (brokerAnswer && isGroupLookupDenial(message, fields.error)) onGroupLookupDenied();
      if (message.includes(BUS_CLOSED_REASON)) logger.debug(entry, message);
      else if (level === KafkaLogLevel.ERROR && !brokerAnswer) logger.error(entry, message);
      else if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) logger.warn(entry, message);
      else logger.debug(entry, message);
    };
}

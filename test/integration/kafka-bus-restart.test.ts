import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraSkipReason } from './infra-env.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();
const KAFKA_BUS = fileURLToPath(new URL('../../dist/core/bus/kafka-bus.js', import.meta.url));
/** How long a closed bus's process may take to exit; kafkajs' leaked connection kept it for ten minutes. */
const EXIT_AFTER_CLOSE_MS = 60_000;

/**
 * A library user's process: subscribes, lives through a broker restart (enough client retries that its consumer
 * rides the outage out instead of crashing and starting afresh), receives a message published after it, closes
 * the bus and then has nothing left to do.
 */
function busUser(brokers: string): string {
  const id = randomUUID().slice(0, 8);
  return `
    import readline from 'node:readline';
    const { createKafkaBus } = await import(${JSON.stringify(KAFKA_BUS)});
    const say = (line) => process.stdout.write(line + '\\n');
    const logger = { trace() {}, debug() {}, info() {}, warn: (o, m) => console.error('warn', m), error: (o, m) => console.error('error', m) };
    logger.child = () => logger;
    const bus = createKafkaBus({ brokers: [${JSON.stringify(brokers)}], clientId: 'it-close', logger, brokerRetries: 30, sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 });
    const seen = [];
    let wake = () => {};
    const received = (count) => new Promise((resolve) => {
      wake = () => seen.length >= count && resolve();
      wake();
    });
    await bus.subscribe({ group: 'it-close-${id}', topics: ['it-close-${id}'] }, async (message) => (seen.push(message.value), wake()));
    await bus.publish('it-close-${id}', { key: 'k', value: 'before' });
    await received(1);
    say('subscribed');
    for await (const line of readline.createInterface({ input: process.stdin })) if (line === 'restarted') break;
    await bus.publish('it-close-${id}', { key: 'k', value: 'after' });
    await received(2);
    say('received ' + seen.join(','));
    await bus.close();
    say('closed');
  `;
}

if (skipReason) {
  describe('integration > kafka-bus > broker restart', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > broker restart', () => {
    let kafka: PrivateKafka | undefined;
    beforeAll(async () => {
      kafka = await startPrivateKafka();
    });
    afterAll(async () => {
      await kafka?.down();
    });

    it('leaves nothing behind once closed: the process of a bus that lived through a broker restart exits by itself', async () => {
      const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', busUser(kafka!.brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
      const printed = async (line: string): Promise<void> => {
        while (!stdout.includes(`${line}\n`)) {
          const [event] = await Promise.race([once(child.stdout, 'data').then(() => ['data']), exited.then(() => ['close'])]);
          if (event === 'close' && !stdout.includes(`${line}\n`)) throw new Error(`the bus user exited before printing "${line}": ${stdout}\n${stderr.slice(-3000)}`);
        }
      };
      let killer: NodeJS.Timeout | undefined;
      try {
        await printed('subscribed');
        await kafka!.restart();
        child.stdin.end('restarted\n');
        await printed('closed');
        expect(stdout).toContain('received before,after\n');
        killer = setTimeout(() => child.kill('SIGKILL'), EXIT_AFTER_CLOSE_MS);
        const [code, signal] = await exited;
        expect({ code, signal }, `still running ${EXIT_AFTER_CLOSE_MS / 1000} s after close(); stderr: ${stderr.slice(-3000)}`).toEqual({ code: 0, signal: null });
      } finally {
        clearTimeout(killer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }, 600_000);
  });
}

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraSkipReason } from './infra-env.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();
const KAFKA_BUS = fileURLToPath(new URL('../../dist/core/bus/kafka-bus.js', import.meta.url));
/**
 * Each step's own limit, counted by the test from the end of the step before, so that a stuck step fails naming
 * itself (with the bus user's output) instead of running into the test's timeout. Generous: a loaded machine takes
 * a minute for what takes seconds otherwise.
 */
const LIMITS_MS = {
  /** Start, topic creation, group join and the first message. */
  subscribed: 120_000,
  /** After the broker is back: rejoin (a consumer kafkajs gave up on is replaced up to 30 s later) and the next message. */
  received: 180_000,
  closed: 60_000,
  /** kafkajs' leaked connection kept a closed bus's process alive for ten minutes. */
  exited: 60_000,
};
/** Two infra.sh runs of at most 180 s each (private-kafka.ts). */
const RESTART_LIMIT_MS = 360_000;

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
    const log = (level) => (o, m) => console.error(new Date().toISOString(), level, m, o.code ?? '', o.restart === undefined ? '' : 'restart=' + o.restart);
    const logger = { trace() {}, debug() {}, info: log('info'), warn: log('warn'), error: log('error') };
    logger.child = () => logger;
    const bus = createKafkaBus({ brokers: [${JSON.stringify(brokers)}], clientId: 'it-close', logger, brokerRetries: 30, sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 });
    const seen = [];
    let wake = () => {};
    // A message may come twice (a consumer replaced after a crash resumes from the last commit): wait for the value.
    const received = (value) => new Promise((resolve) => {
      wake = () => seen.includes(value) && resolve();
      wake();
    });
    await bus.subscribe({ group: 'it-close-${id}', topics: ['it-close-${id}'] }, async (message) => (seen.push(message.value), wake()));
    await bus.publish('it-close-${id}', { key: 'k', value: 'before' });
    await received('before');
    say('subscribed');
    for await (const line of readline.createInterface({ input: process.stdin })) if (line === 'restarted') break;
    await bus.publish('it-close-${id}', { key: 'k', value: 'after' });
    await received('after');
    say('received ' + [...new Set(seen)].join(','));
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
      let closed = false;
      child.once('close', () => (closed = true));
      const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
      /** Resolves once `reached` holds, rejects naming `what` when the child ends or `withinMs` pass first. */
      const step = (what: string, withinMs: number, reached: () => boolean): Promise<void> =>
        new Promise((resolve, reject) => {
          const settle = (failure?: string): void => {
            clearTimeout(timer);
            child.stdout.off('data', check);
            child.off('close', check);
            if (failure) reject(new Error(`${failure}\nstdout:\n${stdout}\nstderr (end):\n${stderr.slice(-4000)}`));
            else resolve();
          };
          const check = (): void => {
            if (reached()) settle();
            else if (closed) settle(`the bus user ended (code ${child.exitCode}, signal ${child.signalCode}) before ${what}`);
          };
          const timer = setTimeout(() => settle(`no ${what} within ${withinMs / 1000} s`), withinMs);
          child.stdout.on('data', check);
          child.on('close', check);
          check();
        });
      const printed = (text: string): (() => boolean) => () => stdout.includes(`${text}\n`);
      try {
        await step('"subscribed"', LIMITS_MS.subscribed, printed('subscribed'));
        await kafka!.restart();
        child.stdin.end('restarted\n');
        await step('"received before,after" after the broker restart', LIMITS_MS.received, printed('received before,after'));
        await step('"closed"', LIMITS_MS.closed, printed('closed'));
        await step(`exit after close()`, LIMITS_MS.exited, ended);
        expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: 0, signal: null });
      } finally {
        if (!ended()) child.kill('SIGKILL');
      }
    }, Object.values(LIMITS_MS).reduce((a, b) => a + b) + RESTART_LIMIT_MS + 60_000);
  });
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Node reports a negative timer once per process, so each case runs in a process of its own (on the build).
const filterModule = fileURLToPath(new URL('../../../dist/core/bus/kafkajs-warnings.js', import.meta.url));

async function warningsOf(scenario: string, filtered: boolean): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(import.meta.url)});
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
    const kafkajsIdleQueue = () => {
      const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: true, clientId: 't', broker: '127.0.0.1:1', logger: {} });
      queue.scheduleCheckPendingRequests();
      queue.destroy();
    };
    if (${filtered}) (await import(${JSON.stringify(filterModule)})).ignoreKafkajsNegativeTimeouts();
    process.on('warning', (warning) => console.log(warning.name + ': ' + warning.message.split('\\n')[0]));
    ${scenario}
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return stdout.trim().split('\n').filter(Boolean);
}

describe('bus > kafkajs warnings', () => {
  it("kafkajs's idle request queue arms a negative timer, which Node reports unless filtered", async () => {
    expect(await warningsOf('kafkajsIdleQueue();', false)).toEqual([expect.stringMatching(/^TimeoutNegativeWarning: -\d+ is a negative number/)]);
    expect(await warningsOf('kafkajsIdleQueue();', true)).toEqual([]);
  });

  it('still drops it when the process shortened its stack traces', async () => {
    expect(await warningsOf('Error.stackTraceLimit = 0; kafkajsIdleQueue();', true)).toEqual([]);
  });

  it('keeps a negative timer armed elsewhere and every other warning', async () => {
    expect(await warningsOf("setTimeout(() => undefined, -5); process.emitWarning('something else', 'CustomWarning');", true)).toEqual([
      'TimeoutNegativeWarning: -5 is a negative number.',
      'CustomWarning: something else',
    ]);
  });

  it('keeps a TimeoutNegativeWarning that kafkajs did not raise, in every form of emitWarning', async () => {
    const scenario = "process.emitWarning('a', { type: 'TimeoutNegativeWarning' }); const e = new Error('b'); e.name = 'TimeoutNegativeWarning'; process.emitWarning(e);";
    expect(await warningsOf(scenario, true)).toEqual(['TimeoutNegativeWarning: a', 'TimeoutNegativeWarning: b']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainedHome, rawTestRows, type SliceHome } from '../helpers/poblesec-slice.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const CONCURRENCY = 24;
const KILL_AFTER_ACKNOWLEDGED = 300;

/** Every req_id in the inference-logs bucket, whatever objects they sit in. */
async function loggedRequestIds(slice: SliceHome): Promise<Set<string>> {
  const bucket = slice.settings.store.buckets.inferenceLogs;
  const ids = new Set<string>();
  for (const object of await slice.store.list(bucket)) {
    for (const line of (await slice.store.get(bucket, object.key)).toString('utf8').split('\n')) {
      if (line.trim()) ids.add(JSON.parse(line).req_id);
    }
  }
  return ids;
}

/** Posts from many clients until `enough` predictions are acknowledged, kills the server with `signal` while requests are in flight. */
async function acknowledgedUntilKilled(server: ServeProcess, signal: NodeJS.Signals): Promise<string[]> {
  const acknowledged: string[] = [];
  let killing: Promise<void> | undefined;
  const body = JSON.stringify({ data: rawTestRows(16) });
  const client = async (): Promise<void> => {
    while (!killing) {
      try {
        const response = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (response.status === 200) acknowledged.push(((await response.json()) as any).req_id);
      } catch {
        return;
      }
      if (acknowledged.length >= KILL_AFTER_ACKNOWLEDGED && !killing) killing = server.kill(signal);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  await killing;
  return acknowledged;
}

describe('serve > prediction log durability under kill -9', () => {
  let slice: SliceHome;

  beforeAll(async () => {
    slice = await createTrainedHome('flts-durability-', ['NAIVE']);
  });

  afterAll(() => slice?.remove());

  const serve = (durability: string): Promise<ServeProcess> =>
    startServe(['--home', slice.home, '--log-level', 'silent'], {
      FLTS_SERVE_PREDICTION_LOG_DURABILITY: durability,
      FLTS_SERVE_PREDICTION_LOG_FLUSH_MS: '60000',
      FLTS_SERVE_POLL_INTERVAL_MS: '0',
    });

  it('sync: loses no acknowledged record when the server is killed with SIGKILL under load', async () => {
    const server = await serve('sync');
    const acknowledged = await acknowledgedUntilKilled(server, 'SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKNOWLEDGED);
    const logged = await loggedRequestIds(slice);
    expect(acknowledged.filter((id) => !logged.has(id))).toEqual([]);
  });

  it('buffered: the same kill loses the records of the current flush interval (what the sync mode is for)', async () => {
    const before = await loggedRequestIds(slice);
    const server = await serve('buffered');
    const acknowledged = await acknowledgedUntilKilled(server, 'SIGKILL');
    const logged = await loggedRequestIds(slice);
    expect(logged.size).toBe(before.size);
    expect(acknowledged.filter((id) => !logged.has(id)).length).toBe(acknowledged.length);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { parseLenientJson } from '../storage/json-objects.js';
import { createMlflowClient } from './mlflow-client.js';
import { failure, withServer } from './tracking-server.fixture.js';

// Every look at the turn says it is spent, and the next turn is the next check phase: each piece of work the client
// shares out over turns runs in a turn of its own whatever the machine's speed, so what is observed below depends on
// the code, not the clock.
vi.mock('../loop-turns.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../loop-turns.js')>()),
  turnSpent: () => true,
  nextTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
}));

/** A run of about 25 kB: params and tags as large as MLflow takes, with escapes, non-ASCII text and a nested list named `runs`. */
const bigRun = (i: number) => ({
  info: { run_id: `r${i}`, experiment_id: '1', status: 'FINISHED', start_time: String(i) },
  data: {
    params: [
      { key: 'config_hash', value: 'h' },
      ...Array.from({ length: 20 }, (_, p) => ({ key: `p${p}`, value: `${'v\\"]},['.repeat(60)}ü€😀${'x'.repeat(500)}` })),
    ],
    metrics: [{ key: 'test_rmse', value: i / 7, timestamp: 0, step: 0 }],
    tags: [{ key: 'note', value: `{"runs": [${i}]}`.padEnd(10_000, ' ') }],
    runs: [[i]],
  },
});

/** A ~25 MB first page of 1000 runs, its page token ahead of the list, and a second small page ending the listing. */
const firstPage = Buffer.from(JSON.stringify({ next_page_token: 'p2', runs: Array.from({ length: 1000 }, (_, i) => bigRun(i)) }), 'utf8');
const secondPage = JSON.stringify({ runs: [bigRun(1000)] });
/** ~2.5 MB: past the size read in turns, as a page near the limit is, and quicker to break in many ways. */
const smallerPage = Buffer.from(JSON.stringify({ next_page_token: 'p2', runs: Array.from({ length: 100 }, (_, i) => bigRun(i)) }), 'utf8');

const searchAll = (first: Buffer | string, signal?: AbortSignal) =>
  withServer(
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const asked = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { page_token?: string };
        res.writeHead(200, { 'content-type': 'application/json' }).end(asked.page_token === 'p2' ? secondPage : first);
      });
    },
    (uri) => createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 60_000, 'tracking.retries': 0 } }).settings.tracking, { signal }).searchRuns({ experimentIds: ['1'] }),
  );

afterEach(() => {
  vi.restoreAllMocks();
});

describe('core > tracking > mlflow large pages', () => {
  it('reads a 25 MB page of 1000 runs through the client as JSON.parse reads it, one run per turn, other callbacks running between', { timeout: 60_000 }, async () => {
    expect(firstPage.length).toBeGreaterThan(24 << 20);
    // Each parse of a run or more, and each turn of the loop (a setImmediate renewing itself), in the order they happen.
    const events: Array<'parse' | 'turn'> = [];
    const parse = JSON.parse;
    vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (text.length > 20_000) events.push('parse');
      return parse(text, reviver);
    });
    let ticking = true;
    const tick = (): void => {
      events.push('turn');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    let runs;
    try {
      runs = await searchAll(firstPage);
    } finally {
      ticking = false;
    }
    vi.restoreAllMocks();
    expect(runs).toStrictEqual([...parse(firstPage.toString('utf8')).runs, ...parse(secondPage).runs]);
    // The first page's runs each parsed alone (the second page is parsed whole, under the size read in turns).
    const parses = events.flatMap((event, at) => (event === 'parse' ? [at] : []));
    expect(parses).toHaveLength(1000 + 1);
    const withoutTurnBefore = parses.slice(1, 1000).filter((at, n) => !events.slice(parses[n] + 1, at).includes('turn'));
    expect(withoutTurnBefore).toEqual([]);
  });

  it('stops parsing a large page between two runs once its owner aborts, with the abort\'s reason', { timeout: 60_000 }, async () => {
    const owner = new AbortController();
    const stopping = new Error('stopping');
    let parses = 0;
    const parse = JSON.parse;
    vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (text.length > 20_000 && (parses += 1) === 10) owner.abort(stopping);
      return parse(text, reviver);
    });
    await expect(searchAll(firstPage, owner.signal)).rejects.toBe(stopping);
    expect(parses).toBe(10);
  });

/** Counts the parses of a whole page (over 1 MB of text) while `body` runs. */
async function wholeParses(body: () => Promise<unknown>): Promise<number> {
  let parses = 0;
  const parse = JSON.parse;
  const spy = vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    if (text.length > 1 << 20) parses += 1;
    return parse(text, reviver);
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return parses;
}

  it('reports a large page that is not JSON at any place with the same coded reason as a small one, parsing it whole only where it must', { timeout: 60_000 }, async () => {
    const text = smallerPage.toString('utf8');
    expect(smallerPage.length).toBeGreaterThan(2 << 20);
    const listAt = text.indexOf('"runs":[') + 8;
    const betweenRuns = text.indexOf('},{"info"', text.length / 2) + 1;
    // Each with the parses of the whole page it takes: two (strict, then lenient) where no list could be laid out
    // (a comma without an entry) or where the lenient parse would cut the text first (it does not end with `}`).
    const broken: Array<[string, number]> = [
      [`${text.slice(0, -1)}`, 2],
      [`${text.slice(0, listAt)},${text.slice(listAt)}`, 2],
      [`${text.slice(0, betweenRuns)}}${text.slice(betweenRuns)}`, 0],
      [`${text.slice(0, betweenRuns)}${text.slice(betweenRuns + 1)}`, 0],
      [`${text.slice(0, -2)},]}`, 0],
      [text.replace('"next_page_token"', '"next_page_token":'), 0],
    ];
    for (const [index, [body, parses]] of broken.entries()) {
      expect(() => parseLenientJson(body), `case ${index}`).toThrow();
      let error: Awaited<ReturnType<typeof failure>> | undefined;
      expect(await wholeParses(async () => (error = await failure(searchAll(body)))), `case ${index}`).toBe(parses);
      expect(error?.message, `case ${index}`).toContain(`not a JSON object: ${JSON.stringify(body.slice(0, 120))}`);
      expect(error?.code, `case ${index}`).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error?.details.reason, `case ${index}`).toBe('not_json');
    }
  });

  it('reads a large page with NaN metrics, or text around the object, run by run as the lenient parse of the whole page reads it', { timeout: 60_000 }, async () => {
    const text = smallerPage.toString('utf8');
    const withNaN = text.replace('"value":0,', '"value":NaN,');
    expect(withNaN).toContain('NaN');
    let runs: Awaited<ReturnType<typeof searchAll>> = [];
    expect(await wholeParses(async () => (runs = await searchAll(withNaN)))).toBe(0);
    expect(runs).toStrictEqual([...(parseLenientJson(withNaN) as { runs: unknown[] }).runs, ...JSON.parse(secondPage).runs]);
    expect(runs[0].data.metrics?.[0].value).toBeNull();
    // Text a proxy put around the answer: read run by run too, as the lenient parse reads the object within.
    const wrapped = `)]}'\n${text.replace('"value":0,', '"value":NaN,')}\nx`;
    expect(await wholeParses(async () => (runs = await searchAll(wrapped)))).toBe(0);
    expect(runs).toStrictEqual([...(parseLenientJson(wrapped) as { runs: unknown[] }).runs, ...JSON.parse(secondPage).runs]);
  });
});

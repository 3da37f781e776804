import { afterEach, describe, expect, it, vi } from 'vitest';
import { FltsError } from '../errors.js';
import { parseActuals, parseRequestSeriesInTurns } from './request-frame.js';
import { countTurns } from '../loop-turns.fixture.js';

function nested(depth: number): unknown {
  let value: unknown = '2018-01-01 00:00:00';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function invalidMessage(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(FltsError);
    expect((error as FltsError).code).toBe('FLTS_REQUEST_INVALID');
    return (error as FltsError).message;
  }
  throw new Error('expected FLTS_REQUEST_INVALID');
}

describe('core > serve > request frame', async () => {
  it('names a timestamp nested 10,000 arrays deep without overflowing the stack', async () => {
    const message = await invalidMessage(() => parseRequestSeriesInTurns({ ts: [nested(10_000), '2018-01-01 00:02:00'], x: [1, 2] }, ['x'], 1));
    expect(message).toMatch(/invalid timestamp at row 0: an array of 1/);
  });

  it('refuses epoch numbers past every unit, duplicated or not, with a 400', async () => {
    expect(await invalidMessage(() => parseRequestSeriesInTurns({ ts: [1e19, 1e19 + 1e6], x: [1, 2] }, ['x'], 1))).toMatch(/invalid timestamp at row 0: 10000000000000000000, a number too large/);
    expect(await invalidMessage(() => parseRequestSeriesInTurns({ ts: [9e19, 9e19], x: [1, 2] }, ['x'], 1))).toMatch(/invalid timestamp/);
  });

  it('reads epoch seconds as the times they are, and refuses a number too small to tell its unit', async () => {
    // Before, 1519785240 (seconds) was read as milliseconds: 1970-01-18T14:09:45.240.
    const seconds = await parseRequestSeriesInTurns({ ts: [1_519_785_240, 1_519_785_360], x: [1, 2] }, ['x'], 1);
    expect(Array.from(seconds.frame.time)).toEqual([Date.UTC(2018, 1, 28, 2, 34), Date.UTC(2018, 1, 28, 2, 36)]);
    expect(seconds.cadenceMs).toBe(120_000);
    const message = await invalidMessage(() => parseRequestSeriesInTurns({ ts: [0, 60], x: [1, 2] }, ['x'], 1));
    expect(message).toMatch(/invalid timestamp at row 0: 0, a number too small to tell its unit .*send ISO 8601 text, or an epoch number of at least 100000000/);
  });

  it('refuses with a 400 timestamps mixing text with a UTC offset and text without, as files are refused', async () => {
    const message = await invalidMessage(() => parseRequestSeriesInTurns({ ts: ['2018-02-05 23:40:00', '2018-02-05T23:42:00+01:00'], x: [1, 2] }, ['x'], 1));
    expect(message).toBe('Column \'ts\' contains an invalid timestamp at row 1: "2018-02-05T23:42:00+01:00", text with a UTC offset, but the column\'s first time, "2018-02-05 23:40:00" (position 0), has none and was read as UTC; write every time with its offset (or Z), or none.');
    // An epoch number is a UTC instant, as text with a Z is: beside wall-clock text it is refused too.
    const epoch = await invalidMessage(() => parseRequestSeriesInTurns({ ts: ['2018-02-05 23:40:00', 1_517_874_120], x: [1, 2] }, ['x'], 1));
    expect(epoch).toMatch(/^Column 'ts' contains an invalid timestamp at row 1: 1517874120, an epoch number, a time in UTC, but the column's first time, "2018-02-05 23:40:00" \(position 0\), is text without a UTC offset/);
  });

  it('describes the steps of the rows the model reads: a gap in the window, none in older rows', async () => {
    const minutes = (list: number[]) => list.map((minute) => new Date(Date.UTC(2018, 1, 28, 0, minute)).toISOString());
    const data = (list: number[]) => ({ ts: minutes(list), x: list.map(() => 1) });
    expect((await parseRequestSeriesInTurns(data([0, 2, 4, 6, 8]), ['x'], 3)).timeSteps).toEqual({ step_ms: 120_000, gaps: 0, short_steps: 0, largest_gap: null });
    // The gap (2 -> 20) is before the last three rows, which the model reads.
    expect((await parseRequestSeriesInTurns(data([0, 2, 20, 22, 24, 26]), ['x'], 3)).timeSteps.gaps).toBe(0);
    expect((await parseRequestSeriesInTurns(data([0, 2, 4, 6, 16, 18]), ['x'], 3)).timeSteps).toEqual({
      step_ms: 120_000,
      gaps: 1,
      short_steps: 0,
      largest_gap: { after_row: 3, from: '2018-02-28T00:06:00', to: '2018-02-28T00:16:00', ms: 600_000 },
    });
  });

  it('keeps the message short when 100,000 columns are wrong', async () => {
    const data: Record<string, unknown> = { ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'] };
    for (let i = 0; i < 100_000; i++) data[`unknown_column_${i}`] = 'x';
    const message = await invalidMessage(() => parseRequestSeriesInTurns(data, ['x'], 1));
    expect(message.length).toBeLessThan(600);
    expect(message).toMatch(/and 99990 more/);
  });

  // Before, a column name a client sent came back as it was: U+202E turned the rest of the message round where it
  // was shown (a terminal, a log viewer), an escape restyled the terminal.
  it('shows the control and bidirectional characters of a client\'s column names escaped in its messages', async () => {
    const ts = ['2018-01-01 00:00:00', '2018-01-01 00:02:00'];
    const messages = [
      await invalidMessage(() => parseRequestSeriesInTurns({ ts, 'x\u202Ey': 'no', 'a\u001b[2Jb': 'no' }, ['x'], 1)),
      await invalidMessage(() => parseRequestSeriesInTurns({ ts, x: [1, 2] }, ['x'], 1, 'ind\u202Eex')),
      await invalidMessage(() => parseRequestSeriesInTurns({ 'd\u0085\u2066': ['yesterday', 'today'], x: [1, 2] }, ['x'], 1, 'd\u0085\u2066')),
      await invalidMessage(() => parseRequestSeriesInTurns({ ts: ['2018-01-01 00:00:00', 'to\u202Eday'], x: [1, 2] }, ['x'], 1)),
    ];
    expect(messages[0]).toContain('x\\u202ey');
    expect(messages[0]).toContain('a\\u001b[2Jb');
    expect(messages[1]).toContain("index_col 'ind\\u202eex' is not a column");
    expect(messages[2]).toContain("Column 'd\\u0085\\u2066' contains an invalid timestamp");
    expect(messages[3]).toContain('"to\\u202eday"');
    for (const message of messages) expect(message).not.toMatch(/[\p{Cc}\p{Bidi_Control}]/u);
  });

  it('reads only own columns: index_col "constructor" is not a column', async () => {
    expect(await invalidMessage(() => parseRequestSeriesInTurns({ ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'], x: [1, 2] }, ['x'], 1, 'constructor'))).toMatch(/index_col 'constructor' is not a column/);
    expect(await invalidMessage(() => parseRequestSeriesInTurns({ ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'], x: [1, 2] }, ['toString'], 1))).toMatch(/Missing required feature columns: toString/);
  });
});

describe('core > serve > request-frame > a long request over event-loop turns', () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    // The slice a mocked clock opened closes at the next turn's check phase, before the next test reads the clock.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('parses the rows of /predict and infer over turns, to the series and problems of one pass', async () => {
    const ts = Array.from({ length: 10_000 }, (_, i) => new Date(Date.UTC(2024, 0, 10) + (i + (i > 9000 ? 3 : 0)) * 60_000).toISOString().slice(0, 19).replace('T', ' '));
    const x = ts.map((_, i) => i / 3);
    // A clock that stands still: no look at the turn finds it spent, so the rows are parsed in one pass.
    const stopped = vi.spyOn(performance, 'now').mockReturnValue(0);
    const once = await parseRequestSeriesInTurns({ ts, x }, ['x'], 4);
    stopped.mockRestore();
    // The slice opened on the stopped clock closes at the next turn's check phase.
    await new Promise((resolve) => setImmediate(resolve));
    // Each reading of the clock 20 ms on: every look at the turn (10 ms) finds it spent, whatever the machine's speed.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
    const loop = countTurns();
    const series = await parseRequestSeriesInTurns({ ts, x }, ['x'], 4);
    loop.stop();
    expect(loop.turns()).toBeGreaterThanOrEqual(4);
    expect(series).toEqual(once);
    await expect(parseRequestSeriesInTurns({ ts: [...ts.slice(0, 5000), 'yesterday'], x: x.slice(0, 5001) }, ['x'], 4)).rejects.toThrow(/invalid timestamp at row 5000: "yesterday"/);
    await expect(parseRequestSeriesInTurns({ ts: [...ts.slice(0, 5000), ts[10]], x: x.slice(0, 5001) }, ['x'], 4)).rejects.toThrow(/not increasing at row 5000/);
    await expect(parseRequestSeriesInTurns({ ts, x: [...x.slice(0, 9999), null] }, ['x'], 4)).rejects.toThrow(/'x' has a null, NaN or infinite value at row 9999/);
  });
});

describe('core > serve > request-frame > actuals', () => {
  afterEach(() => vi.restoreAllMocks());

  it('parses a long body over event-loop turns, to the frame and problems of one pass', async () => {
    // Each reading of the clock 20 ms on: every look at the turn (10 ms) finds it spent, whatever the machine's speed.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
    const ts = Array.from({ length: 10_000 }, (_, i) => new Date(Date.UTC(2024, 0, 10) + i * 60_000).toISOString().slice(0, 19).replace('T', ' '));
    const down = ts.map((_, i) => (i % 7 === 0 ? null : i / 3));
    const loop = countTurns();
    const frame = await parseActuals({ ts, down }, ['down']);
    loop.stop();
    expect(loop.turns()).toBeGreaterThanOrEqual(4);
    expect(Array.from(frame.time)).toEqual(ts.map((text) => Date.parse(`${text.replace(' ', 'T')}Z`)));
    expect(Array.from(frame.values.down)).toEqual(down.map((value) => value ?? Number.NaN));
    // A problem past the first piece names its row, and a unit change is seen across pieces.
    await expect(parseActuals({ ts: [...ts.slice(0, 5000), 'yesterday'], down: [...down.slice(0, 5000), 1] }, ['down'])).rejects.toThrow(/invalid timestamp at row 5000: "yesterday"/);
    const seconds = Array.from({ length: 5000 }, (_, i) => 1_704_844_800 + i * 60);
    await expect(parseActuals({ ts: [...seconds, 1_704_844_800_000 + 5000 * 60_000], down: seconds.map(() => 1).concat(1) }, ['down'])).rejects.toThrow(/invalid timestamp at row 5000: .*first number \(position 0\)/);
  });

  it('takes rows in any order and refuses a timestamp given twice', async () => {
    const frame = await parseActuals({ ts: ['2024-01-10 00:02:00', '2024-01-10 00:00:00'], down: [2, 1] }, ['down']);
    expect(Array.from(frame.values.down)).toEqual([2, 1]);
    await expect(parseActuals({ ts: ['2024-01-10 00:00:00', '2024-01-10 00:02:00', '2024-01-10 00:00:00'], down: [1e308, 2, 5] }, ['down'])).rejects.toThrow(
      expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', message: expect.stringContaining('repeat the timestamp 2024-01-10T00:00:00') }),
    );
  });

  it('refuses columns whose names differ only in case, in a forecast request and in actuals, naming both', async () => {
    // Before, `Down` was dropped without a word: the forecast read `down` and the client's values under `Down` went unused.
    const ts = ['2024-01-10 00:00:00', '2024-01-10 00:02:00'];
    const message = await invalidMessage(() => parseRequestSeriesInTurns({ ts, down: [1, 2], Down: [100, 200] }, ['down'], 1));
    expect(message).toMatch(/Columns 'down' and 'Down' of 'data' differ only in case/);
    expect(await invalidMessage(() => parseActuals({ ts, Down: [100, 200], down: [1, 2] }, ['down']))).toMatch(/'Down' and 'down' .*differ only in case/);
    expect(await invalidMessage(() => parseRequestSeriesInTurns({ ts, TS: ts, down: [1, 2] }, ['down'], 1))).toMatch(/'ts' and 'TS'/);
    // Names that differ otherwise are columns of their own, as before.
    expect(Array.from((await parseRequestSeriesInTurns({ ts, down: [1, 2], down_var: [3, 4] }, ['down'], 1)).frame.values.down)).toEqual([1, 2]);
  });
});

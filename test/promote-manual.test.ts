import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PIN_SCOPE_LINE } from '../src/cli/promotion-lines.js';
import { PromoteManualScreen, type ScreenOutcome } from '../src/cli/screens/promote-manual-screen.js';
import { defaultSettings, type Settings } from '../src/core/config/settings.js';
import { readPromotionPointer } from '../src/core/registry/pointers.js';
import { appendHistory, historyKey, listPromotionHistory, syncPointers } from '../src/core/registry/promotion-history.js';
import { putJson } from '../src/core/storage/json-objects.js';
import { buildPromotionRecord, promote } from '../src/core/workflows/promote.js';
import { listPromotionCandidates, promoteManually } from '../src/core/runbooks/index.js';
import { addRunWithArtifacts, RUNBOOK_HASH, seedRunbookRegistry } from '../src/core/runbooks/runbook-registry.fixture.js';
import { fakeRun } from '../src/core/registry/run-record.fixture.js';
import { readRunRecord, saveRunRecord } from '../src/core/registry/run-store.js';
import { addLoadableRun } from '../src/core/workflows/loadable-run.fixture.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import type { ObjectStore } from '../src/core/storage/object-store.js';
import { freePort } from './helpers/free-port.js';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

const KEYS = { up: '\u001B[A', down: '\u001B[B', enter: '\r', escape: '\u001B', ctrlC: '\u0003', backspace: '\u007F' };

let home: string;
let store: ObjectStore;
let settings: Settings;

beforeEach(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'flts-promote-manual-'));
  store = createFsStore(path.join(home, 'store'));
  settings = defaultSettings();
  await seedRunbookRegistry(store, settings);
  await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store });
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

async function until(condition: () => boolean, what: string | (() => string)): Promise<void> {
  // Polls between event-loop turns; the deadline only bounds a hang (promoting does real file I/O).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/** The screen over the runbook registry's candidates; `beforePromote` holds a promotion back until it resolves. */
async function openScreen(force = false, named: { initialRunId?: string; initialReason?: string } = {}, pin = false, beforePromote?: () => Promise<void>) {
  const candidates = await listPromotionCandidates({ configHash: RUNBOOK_HASH }, settings, { store });
  const outcomes: ScreenOutcome[] = [];
  const screen = render(
    createElement(PromoteManualScreen, {
      candidates,
      force,
      pin,
      ...named,
      onPromote: async (runId, reason, current) => {
        await beforePromote?.();
        return promoteManually({ runId, reason, force, pin, operator: 'tester', expectedCurrentRunId: current }, settings, { store });
      },
      onExit: (outcome) => outcomes.push(outcome),
    }),
  );
  const frame = (): string => screen.lastFrame() ?? '';
  const press = async (key: string, expectInFrame: string): Promise<void> => {
    screen.stdin.write(key);
    await until(() => frame().includes(expectInFrame), () => `${JSON.stringify(expectInFrame)} after ${JSON.stringify(key)}; frame:\n${frame()}`);
  };
  // Keys written before the screen listens to stdin would be lost.
  await until(() => frame().includes('runB') && screen.stdin.listenerCount('readable') > 0, 'the run list, listening for keys');
  return { screen, frame, press, outcomes };
}

describe('cli > screens > promote-manual-screen', () => {
  it('lists runs by score with the promoted one marked, shows the diff of the selection, and promotes with the typed reason', async () => {
    const { frame, press, outcomes } = await openScreen();
    const lines = frame().split('\n');
    const order = ['runB', 'runC', 'runA', 'runF'].map((id) => lines.findIndex((line) => line.includes(` ${id} `)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(lines[order[2]]).toMatch(/^ \* ?\s*LSTM/);
    expect(lines[order[3]]).toContain('!');
    expect(lines[order[0]]).toContain(RUNBOOK_HASH.slice(0, 12));

    await press('j', 'NAIVE run runC vs current LSTM run runA');
    await press(KEYS.up, 'GRU run runB vs current LSTM run runA');
    expect(frame()).toContain('model type: LSTM -> GRU');
    expect(frame()).toMatch(/rmse\s+0\.05000 ->\s+0\.04000\s+delta -0\.01000 \(-20\.0%\)/);
    expect(frame()).toContain('hidden_units: 32 -> 64');
    expect(frame()).not.toContain('epochs:');

    await press(KEYS.enter, 'Reason: _');
    await press('weekend regression', 'Reason: weekend regression_');
    await press('x', 'regressionx');
    await press(KEYS.backspace, 'Reason: weekend regression_');
    await press(KEYS.enter, 'Promote GRU run runB, replacing runA? [y/N]');
    await press('y', 'Promoting runB');
    await until(() => outcomes.length === 1, 'the promotion to finish');

    expect(outcomes[0].kind).toBe('promoted');
    const last = (await listPromotionHistory(store, settings)).at(-1);
    expect(last).toMatchObject({ run_id: 'runB', source: 'manual', reason: 'weekend regression', previous_run_id: 'runA', actor: 'tester', forced: false, action: 'promote' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runB');
  });

  it('keeps the columns under their headings with run ids as long as flts makes them', async () => {
    const long = fakeRun('0123456789abcdef0123456789abcdef', 'GRU', { rmse: 0.045, mae: 0.03, mse: 0.002 }, '2025-01-05T00:00:00.000Z');
    await addRunWithArtifacts(store, settings, long);
    const { frame, screen } = await openScreen();
    const lines = frame().split('\n');
    const header = lines.find((line) => line.includes('config_hash') && line.includes('run_id'))!;
    const rows = lines.filter((line) => / (SUCCESS|FAILED) /.test(line));
    expect(rows).toHaveLength(5);
    expect(rows.some((line) => line.includes(long.run_id))).toBe(true);
    for (const row of rows) expect([row.indexOf(RUNBOOK_HASH.slice(0, 12)), row.search(/SUCCESS|FAILED/)]).toEqual([header.indexOf('config_hash'), header.indexOf('status')]);
    screen.unmount();
  });

  it('cuts a run id longer than the terminal leaves room for in its middle, so the figures after it stay under their headings', async () => {
    // A store may hold ids up to 128 characters (copied in, another tool's): the column grew to fit it and every row wrapped.
    const id = `imported-${'x'.repeat(80)}-tail1234`;
    await addRunWithArtifacts(store, settings, fakeRun(id, 'GRU', { rmse: 0.045, mae: 0.03, mse: 0.002 }, '2025-01-05T00:00:00.000Z'));
    const { frame, screen } = await openScreen();
    const lines = frame().split('\n');
    const header = lines.find((line) => line.includes('config_hash') && line.includes('run_id'))!;
    const rows = lines.filter((line) => / (SUCCESS|FAILED) /.test(line));
    expect(rows).toHaveLength(5);
    const cut = rows.find((line) => line.includes('imported-xxx'))!;
    expect(cut).toMatch(/ imported-x+…tail1234 /);
    for (const row of rows) expect([row.indexOf(RUNBOOK_HASH.slice(0, 12)), row.indexOf(' 0.0', row.search(/SUCCESS|FAILED/)) + 1 + 'x.xxxxx'.length]).toEqual([header.indexOf('config_hash'), header.indexOf('score') + 'score'.length]);
    screen.unmount();
  });

  it('drops the columns a narrow terminal has no room for, whole, keeping model, run id, status and score: nothing is cut at its edge', async () => {
    const long = fakeRun('0123456789abcdef0123456789abcdef', 'GRU', { rmse: 0.045, mae: 0.03, mse: 0.002 }, '2025-01-05T00:00:00.000Z');
    await addRunWithArtifacts(store, settings, long);
    const { frame, screen } = await openScreen();
    const listed = async (columns: number): Promise<{ header: string; rows: string[] }> => {
      Object.defineProperty(screen.stdout, 'columns', { value: columns, configurable: true });
      screen.stdout.emit('resize');
      const heading = (): string => frame().split('\n').find((line) => line.includes('run_id')) ?? '';
      await until(() => Array.from(heading()).length <= columns, () => `a list ${columns} columns wide:\n${frame()}`);
      return { header: heading(), rows: frame().split('\n').filter((line) => / (SUCCESS|FAILED) /.test(line)) };
    };
    const fitsWhole = (lines: string[], columns: number): void => {
      // ink cuts a longer line at the edge with an ellipsis: half an rmse, no rank, no targets.
      for (const line of lines) expect([Array.from(line).length <= columns, line.endsWith('…')], line).toEqual([true, false]);
    };
    // 80 columns: rank and targets beside the run id whole; rmse, mae and config_hash make way (before: cut from 106 down).
    const at80 = await listed(80);
    fitsWhole([at80.header, ...at80.rows], 80);
    expect(at80.header.split(/\s+/).filter(Boolean)).toEqual(['model', 'run_id', 'status', 'score', 'rank', 'targets']);
    const row = at80.rows.find((line) => line.includes(long.run_id))!;
    expect(row).toMatch(/ GRU +0123456789abcdef0123456789abcdef +SUCCESS +\d\.\d{5} +\d+ +down$/);
    expect(row.lastIndexOf('down')).toBe(at80.header.indexOf('targets'));
    // 56 columns: the run id is cut in its middle before the score or the status is.
    const at56 = await listed(56);
    fitsWhole([at56.header, ...at56.rows], 56);
    expect(at56.rows.find((line) => line.includes('GRU') && line.includes('…'))).toMatch(/ GRU +0123456789abcdef…89abcdef +SUCCESS +\d\.\d{5}/);
    // Wide again, every column is back.
    const wide = await listed(120);
    expect(wide.header.split(/\s+/).filter(Boolean)).toEqual(['model', 'run_id', 'config_hash', 'status', 'score', 'rmse', 'mae', 'rank', 'targets']);
    screen.unmount();
  });

  it('shows each run\'s targets beside its rank, so the boards of several target sets are told apart', async () => {
    const wide = fakeRun('runWide', 'GRU', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-06T00:00:00.000Z', 'SUCCESS', RUNBOOK_HASH);
    await addRunWithArtifacts(store, settings, { ...wide, window: { ...wide.window, features: ['down', 'up'], targets: ['up', 'down'] } });
    const { frame, screen } = await openScreen();
    const lines = frame().split('\n');
    const header = lines.find((line) => line.includes('config_hash') && line.includes('run_id'))!;
    expect(header).toMatch(/ rank\s+targets$/);
    const row = (id: string): string => lines.find((line) => line.includes(` ${id} `))!;
    // Both first on their own board: the targets say which board each 1 is a place on.
    expect(row('runWide')).toMatch(/ 1\s+down,up$/);
    expect(row('runB')).toMatch(/ 1\s+down$/);
    expect(row('runWide').lastIndexOf('down,up')).toBe(header.indexOf('targets'));
    screen.unmount();
  });

  it('says which runs it left out because their run.json is damaged, instead of hiding them', async () => {
    await store.put(settings.store.buckets.runs, 'runZ/run.json', Buffer.from('{"run_id": "runZ", '));
    const { frame, screen } = await openScreen();
    expect(frame()).toContain('left out, damaged: Run runZ is damaged: runs/runZ/run.json is not valid JSON.');
    screen.unmount();
  });

  it('starts on the run and the reason named on the command line, and says when the run is not listed', async () => {
    const { frame, press, screen } = await openScreen(false, { initialRunId: 'runC', initialReason: 'from the flag' });
    expect(frame()).toContain('NAIVE run runC vs current LSTM run runA');
    await press(KEYS.enter, 'Reason: from the flag_');
    screen.unmount();
    const missing = await openScreen(false, { initialRunId: 'runOld' });
    expect(missing.frame()).toContain('Run runOld is not in this list');
    expect(missing.frame()).toContain('GRU run runB vs current LSTM run runA');
    missing.screen.unmount();
  });

  it('takes a pasted reason as one line: line breaks and tabs become spaces, arrow keys inside the paste are dropped', async () => {
    const { press, outcomes } = await openScreen();
    await press(KEYS.enter, 'Reason: _');
    await press('weekend\rregression\u001B[A\tbug\n', 'Reason: weekend regression bug _');
    await press(KEYS.enter, '[y/N]');
    await press('y', 'Promoting runB');
    await until(() => outcomes.length === 1, 'the promotion to finish');
    expect((await listPromotionHistory(store, settings)).at(-1)).toMatchObject({ run_id: 'runB', reason: 'weekend regression bug' });
  });

  it('reads each key of a chunk holding several (a held key, typing ahead): j j, two down arrows, a move then Ctrl-C', async () => {
    const { frame, press, screen, outcomes } = await openScreen();
    // runB, runC, runA, runF by score: two moves down reach runA, two up come back to runB.
    await press('jj', 'LSTM run runA vs current LSTM run runA');
    await press(`${KEYS.up}${KEYS.up}`, 'GRU run runB vs current LSTM run runA');
    await press(`${KEYS.down}${KEYS.down}${KEYS.down}`, 'LSTM run runF vs current LSTM run runA');
    screen.stdin.write(`k${KEYS.ctrlC}`);
    await until(() => outcomes.length === 1, () => `the stop; frame:\n${frame()}`);
    expect(outcomes).toEqual([{ kind: 'stopped', signal: 'SIGINT', writes: 'none' }]);
    // The move before the Ctrl-C was read too: up from runF is runA.
    expect(frame()).toContain('LSTM run runA vs current LSTM run runA');
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA']);
  });

  it('fits a short, narrow terminal and follows it when resized: the list, the run under the cursor and the question stay on screen', async () => {
    const { frame, press, screen } = await openScreen();
    const resize = async (columns: number, rows: number, what: string): Promise<void> => {
      Object.defineProperty(screen.stdout, 'columns', { value: columns, configurable: true });
      Object.defineProperty(screen.stdout, 'rows', { value: rows, configurable: true });
      screen.stdout.emit('resize');
      await until(() => frame().split('\n').length < rows && frame().includes(what), () => `a frame under ${rows} lines with ${JSON.stringify(what)}:\n${frame()}`);
    };
    const fits = (columns: number, rows: number): void => {
      const lines = frame().split('\n');
      expect(lines.length, frame()).toBeLessThan(rows);
      for (const line of lines) expect(Array.from(line).length, line).toBeLessThanOrEqual(columns);
    };
    await resize(40, 12, 'q quit');
    fits(40, 12);
    // The title, the heading and the run under the cursor stay; the diff says what it leaves out.
    expect(frame()).toContain('flts promote-manual');
    expect(frame()).toMatch(/^> {2}GRU {6}runB /m);
    expect(frame()).toMatch(/… \d+ more lines in a taller terminal/);
    await press(KEYS.enter, 'Reason: _');
    await press('weekend regression', 'Reason: weekend regression_');
    await press(KEYS.enter, '[y/N]');
    fits(40, 12);
    expect(frame()).toMatch(/^> {2}GRU {6}runB /m);
    // The question wraps, whole.
    expect(frame().replace(/\s+/g, ' ')).toContain('Promote GRU run runB, replacing runA? [y/N]');
    // Taller again: the whole diff comes back.
    await resize(100, 40, 'hidden_units: 32 -> 64');
    expect(frame()).not.toContain('more lines in a taller terminal');
    screen.unmount();
  });

  it('scrolls a list longer than the terminal and says where it is in it', async () => {
    for (let i = 0; i < 20; i++) await addRunWithArtifacts(store, settings, fakeRun(`runN${String(i).padStart(2, '0')}`, 'NAIVE', { rmse: 0.06 + i / 1000, mae: 0.05, mse: 0.004 }, '2025-01-05T00:00:00.000Z'));
    const { frame, press, screen } = await openScreen();
    Object.defineProperty(screen.stdout, 'rows', { value: 16, configurable: true });
    screen.stdout.emit('resize');
    await until(() => frame().split('\n').length < 16, () => `a frame under 16 lines:\n${frame()}`);
    const shown = frame().match(/^(\d+)-(\d+) of 24; q quit/m);
    expect(shown, frame()).not.toBeNull();
    await press('j'.repeat(23), 'of 24; q quit');
    expect(frame()).toMatch(/^>.* runF /m);
    expect(frame()).toMatch(/^\d+-24 of 24; q quit/m);
    // Home and end, and a page of the rows shown at a time.
    const order = (await listPromotionCandidates({ configHash: RUNBOOK_HASH }, settings, { store })).candidates.map((row) => row.run_id);
    const rowsShown = (): number => frame().split('\n').filter((line) => / (SUCCESS|FAILED) /.test(line)).length;
    const under = (): string => frame().split('\n').find((line) => line.startsWith('>'))!.split(/\s+/)[2];
    await press('\u001B[H', `1-${rowsShown()} of 24`);
    expect(under()).toBe(order[0]);
    const page = rowsShown();
    screen.stdin.write('\u001B[6~');
    await until(() => under() === order[page], () => `${order[page]} under the cursor after page down; frame:\n${frame()}`);
    await press('\u001B[F', '-24 of 24');
    expect(under()).toBe('runF');
    screen.stdin.write('\u001B[5~');
    await until(() => under() === order[23 - page], () => `${order[23 - page]} under the cursor after page up; frame:\n${frame()}`);
    screen.unmount();
  });

  it('says how many older runs the most recent ones it lists leave out, and how to list them', async () => {
    const recent = await listPromotionCandidates({ limit: 3 }, settings, { store });
    expect({ listed: recent.candidates.map((row) => row.run_id), not_listed: recent.not_listed }).toEqual({ listed: ['runF', 'runC', 'runB'], not_listed: 1 });
    const screen = render(createElement(PromoteManualScreen, { candidates: recent, force: false, onPromote: () => Promise.reject(new Error('not here')), onExit: () => {} }));
    await until(() => (screen.lastFrame() ?? '').includes('q quit'), 'the list');
    expect(screen.lastFrame()).toContain('1 older run not listed: --limit 4 or --config-hash <hash> lists it.');
    screen.unmount();
    const all = await listPromotionCandidates({ limit: 4 }, settings, { store });
    expect(all.not_listed).toBe(0);
    const whole = render(createElement(PromoteManualScreen, { candidates: all, force: false, onPromote: () => Promise.reject(new Error('not here')), onExit: () => {} }));
    await until(() => (whole.lastFrame() ?? '').includes('q quit'), 'the list');
    expect(whole.lastFrame()).not.toContain('not listed');
    whole.unmount();
  });

  it('writes nothing when another promotion replaced the run in service while the screen was open', async () => {
    const { frame, press, outcomes, screen } = await openScreen();
    await press(KEYS.enter, 'Reason: _');
    await press('weekend regression', 'Reason: weekend regression_');
    await press(KEYS.enter, 'Promote GRU run runB, replacing runA? [y/N]');
    await promote({ runId: 'runC', source: 'auto', actor: 'daemon:test', reason: 'newer data' }, settings, { store });
    screen.stdin.write('y');
    await until(() => outcomes.length === 1, () => `the promotion to end; frame:\n${frame()}`);
    expect(outcomes).toEqual([{ kind: 'failed', error: expect.objectContaining({ code: 'FLTS_PROMOTE_CURRENT_CHANGED' }) }]);
    // The command ends with the error below the screen: said on it too, it was read twice.
    await until(() => !frame().includes('Promoting runB'), () => `the last frame; frame:\n${frame()}`);
    expect(frame()).not.toContain('but run runC is in service');
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA', 'runC']);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
  });

  it('writes nothing when the operator leaves with escape, or is stopped by Ctrl-C at the confirmation', async () => {
    const first = await openScreen();
    first.screen.stdin.write(KEYS.escape);
    await until(() => first.outcomes.length === 1, 'escape to leave');
    expect(first.outcomes[0]).toEqual({ kind: 'cancelled' });
    // The last frame, left on the terminal, says so.
    await until(() => first.frame().includes('Cancelled; nothing was written.'), () => `the cancellation in the last frame:\n${first.frame()}`);

    const second = await openScreen();
    await second.press(KEYS.enter, 'Reason: _');
    await second.press('changed my mind', 'Reason: changed my mind_');
    await second.press(KEYS.enter, '[y/N]');
    second.screen.stdin.write(KEYS.ctrlC);
    await until(() => second.outcomes.length === 1, 'Ctrl-C to leave');
    // Not a cancellation: the command's coded stop, as Ctrl-C anywhere in `flts promote`.
    expect(second.outcomes[0]).toEqual({ kind: 'stopped', signal: 'SIGINT', writes: 'none' });
    await until(() => second.frame().includes('Stopped by SIGINT; nothing was written.'), () => `the stop in the last frame:\n${second.frame()}`);

    const history = await listPromotionHistory(store, settings);
    expect(history.map((r) => r.run_id)).toEqual(['runA']);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
  });

  it('stopped by Ctrl-C while the promotion is written, writes it whole first and then ends as stopped, not as promoted', async () => {
    let proceed: () => void = () => {};
    const { press, screen, outcomes } = await openScreen(false, {}, false, () => new Promise<void>((resolve) => (proceed = resolve)));
    await press(KEYS.enter, 'Reason: _');
    await press('weekend drift', 'Reason: weekend drift_');
    await press(KEYS.enter, '[y/N]');
    await press('y', 'Promoting');
    screen.stdin.write(KEYS.ctrlC);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual([]);
    proceed();
    await until(() => outcomes.length === 1, 'the promotion to end');
    expect(outcomes[0]).toEqual({ kind: 'stopped', signal: 'SIGINT', writes: 'writing' });
    expect((await readPromotionPointer(store, settings))?.run_id).not.toBe('runA');
    expect((await listPromotionHistory(store, settings)).map((r) => r.reason)).toContain('weekend drift');
  });

  it('pins the run the daemon promoted when it is selected, and only notes a run someone chose', async () => {
    const { frame, press, outcomes, screen } = await openScreen(false, { initialRunId: 'runA' });
    expect(frame()).toContain('This run is the promoted one, automatically: promoting it pins it.');
    await press(KEYS.enter, 'Reason: _');
    await press('holidays', 'Reason: holidays_');
    await press(KEYS.enter, 'Pin LSTM run runA against automatic promotion and rollback? It stays in service. [y/N]');
    screen.stdin.write('y');
    await until(() => outcomes.length === 1, 'the pin to finish');
    expect(outcomes).toEqual([{ kind: 'promoted', result: expect.objectContaining({ changed: true, pinned: true }) }]);
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}`)).toEqual(['runA:auto:promote', 'runA:manual:pin']);

    const again = await openScreen(false, { initialRunId: 'runA' });
    expect(again.frame()).toContain('This run is the promoted one.');
    await again.press(KEYS.enter, 'runA is already the promoted run, chosen by manual.');
    expect(again.frame()).not.toContain('Reason:');
    again.screen.unmount();
  });

  it('with --pin, promotes and pins the selected run, then pins nothing twice', async () => {
    const { press, outcomes, screen } = await openScreen(false, { initialRunId: 'runC', initialReason: 'weekends' }, true);
    await press(KEYS.enter, 'Reason: weekends_');
    await press(KEYS.enter, 'Promote NAIVE run runC, replacing runA, and pin it against automatic promotion and rollback? [y/N]');
    screen.stdin.write('y');
    await until(() => outcomes.length === 1, 'the promotion to finish');
    expect(outcomes).toEqual([{ kind: 'promoted', result: expect.objectContaining({ changed: true, pinned: true, record: expect.objectContaining({ run_id: 'runC', action: 'promote', pinned: true }) }) }]);
    // One record is the promotion and its pin.
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}:${r.pinned === true}`)).toEqual(['runA:auto:promote:false', 'runC:manual:promote:true']);

    const again = await openScreen(false, { initialRunId: 'runC' }, true);
    expect(again.frame()).toContain('This run is the promoted one.');
    await again.press(KEYS.enter, 'runC is already the promoted run, pinned by manual.');
    again.screen.unmount();
  });

  it('refuses to select a FAILED run, with --force too: serving could not load it', async () => {
    for (const force of [false, true]) {
      const opened = await openScreen(force);
      for (let i = 0; i < 3; i++) opened.screen.stdin.write(force ? KEYS.down : 'j');
      await until(() => opened.frame().includes('LSTM run runF vs'), 'runF selected');
      await opened.press(KEYS.enter, 'runF cannot be promoted: serving could not load it');
      expect(opened.frame()).toContain('cannot promote: status is FAILED');
      expect(opened.frame()).not.toContain('Reason:');
      opened.screen.unmount();
    }
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA']);
  });
});

/** A module that, preloaded, makes the command take its stdin and stdout pipes for a terminal. */
function fakeTerminal(): string {
  const hook = path.join(home, 'fake-terminal.mjs');
  writeFileSync(hook, 'for (const stream of [process.stdin, process.stdout]) stream.isTTY = true;\nprocess.stdin.setRawMode = () => process.stdin;\nprocess.stdout.getWindowSize = () => [80, 24];\n');
  return hook;
}

/**
 * The command on its screen, in a process whose stdin and stdout are pipes it takes for a terminal (a preloaded module
 * says so and stands in for raw mode): `keys` are written one at a time, each once the text before it is on screen.
 */
async function screenCommand(args: string[], env: Record<string, string>, steps: Array<[waitFor: string, key: string | (() => Promise<string>)]>): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const hook = fakeTerminal();
  // ink draws nothing until it ends where it believes it runs in CI (CI, CONTINUOUS_INTEGRATION or CI_* set).
  const ci = Object.keys(process.env).filter((name) => name === 'CI' || name === 'CONTINUOUS_INTEGRATION' || name.startsWith('CI_'));
  // The colours the test asks for, not the runner's.
  const child = spawn(process.execPath, ['--import', hook, BIN, 'promote-manual', ...args], { cwd: REPO_ROOT, env: cleanEnvironment(env, [...ci, 'NO_COLOR', 'FORCE_COLOR']) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let seen = 0;
  for (const [waitFor, key] of steps) {
    await until(() => stdout.indexOf(waitFor, seen) >= 0 || child.exitCode !== null, () => `${JSON.stringify(waitFor)}; stdout:\n${stdout}\nstderr:\n${stderr}`);
    seen = stdout.indexOf(waitFor, seen) + waitFor.length;
    child.stdin.write(typeof key === 'string' ? key : await key());
  }
  return { exitCode: await closed, stdout, stderr };
}

describe('cli > promote-manual (screen)', () => {
  it('opens no screen in a CI job, even on a terminal: it refuses without --run and --reason and promotes with them', async () => {
    // ink draws nothing there until it ends: the screen waited for keys behind a blank terminal (or hung the job).
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot', CI: 'true' };
    const nodeArgs = ['--import', fakeTerminal()];
    const refused = await runCli(['promote-manual'], { env, nodeArgs, timeoutMs: 20_000 });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('FLTS_USAGE_INVALID_FLAG');
    expect(refused.stderr).toContain('With CI set (a CI job, where the screen would stay blank) there is no screen to pick on: pass --run <run_id> and --reason "...".');
    const promoted = await runCli(['promote-manual', '--run', 'runC', '--reason', 'from the job'], { env, nodeArgs, timeoutMs: 20_000 });
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain('promoted NAIVE run runC');
    expect((await listPromotionHistory(store, settings)).at(-1)).toMatchObject({ run_id: 'runC', reason: 'from the job', actor: 'ci-bot' });
  });

  it('draws no colours where NO_COLOR is set, in a terminal that takes them', async () => {
    // FORCE_COLOR stands for a terminal with colours (these pipes are none); runF's problem is said in red there.
    const colour = /\u001B\[(?:3[0-7]|9[0-7]|38;[0-9;]+)m/;
    const [coloured, plain] = await Promise.all(
      ([{ FORCE_COLOR: '1' }, { FORCE_COLOR: '1', NO_COLOR: '1' }] as Array<Record<string, string>>).map((colours) => screenCommand(['--run', 'runF'], { FLTS_HOME: home, ...colours }, [['q quit', 'q']])),
    );
    for (const run of [coloured, plain]) {
      expect(run.exitCode, run.stderr).toBe(130);
      expect(run.stdout).toContain('cannot promote: status is FAILED');
    }
    expect(coloured.stdout).toMatch(colour);
    expect(plain.stdout).not.toMatch(colour);
  });

  it('says a failed promotion once, as the command\'s coded error below the screen', async () => {
    const run = await screenCommand(['--run', 'runB', '--reason', 'weekend regression'], { FLTS_HOME: home }, [
      ['q quit', KEYS.enter],
      ['Reason: weekend regression_', KEYS.enter],
      [
        '[y/N]',
        async () => {
          // Another promotion while the question is on screen: confirmed, the promotion is refused.
          await promote({ runId: 'runC', source: 'auto', actor: 'daemon:test', reason: 'newer data' }, settings, { store });
          return 'y';
        },
      ],
    ]);
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stderr).toContain('FLTS_PROMOTE_CURRENT_CHANGED');
    // Before, the screen's last frame said the message, then the error said it again.
    // The frames as read: without ink's cursor and colour sequences, a line wrapped at the terminal's edge joined again.
    const said = `${run.stdout}\n${run.stderr}`.replace(/\u001B\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\s+/g, ' ');
    expect(said.split('but run runC is in service').length - 1, said).toBe(1);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
  });

  it('says the promotion it made on its screen in the words of `flts promote`: previous run, a change of targets, the probation', async () => {
    const both = fakeRun('runBoth', 'GRU', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-06T00:00:00.000Z', 'SUCCESS', RUNBOOK_HASH);
    await addRunWithArtifacts(store, settings, { ...both, window: { ...both.window, features: ['down', 'up'], targets: ['down', 'up'] } });
    // runBoth in service, its record written as a promotion would write it (this store's test data has no `up` to forecast).
    await appendHistory(store, settings, buildPromotionRecord(await readRunRecord(store, settings, 'runBoth'), settings, { source: 'manual', reason: 'both targets', action: 'promote', previousRunId: 'runA' }));
    await syncPointers(store, settings);
    const run = await screenCommand(['--run', 'runC', '--reason', 'down only'], { FLTS_HOME: home, FLTS_OPERATOR: 'ana' }, [
      ['q quit', KEYS.enter],
      ['Reason: down only_', KEYS.enter],
      ['[y/N]', 'y'],
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const record = (await listPromotionHistory(store, settings)).at(-1)!;
    expect(record).toMatchObject({ run_id: 'runC', source: 'manual', actor: 'ana', reason: 'down only', previous_run_id: 'runBoth' });
    // Below the screen, as flts promote prints them (the show-cursor sequence ink ends with aside).
    const said = run.stdout.replaceAll('\u001B[?25h', '').split('\n');
    expect(said).toContain('promoted NAIVE run runC (config_hash cccccccccccc, score 0.0303600, manual) — down only');
    expect(said.filter((line) => line.startsWith('previous run: runBoth; history ') && line.includes(historyKey(record)))).toHaveLength(1);
    expect(said).toContain('warning: targets changed from down,up (run runBoth) to down: /predict now returns down.');
    expect(said.filter((line) => line.startsWith('live probation'))).toHaveLength(1);
  });
});

describe('cli > promote-manual (non-interactive)', () => {
  it('promotes directly without a terminal, and refuses without --run and --reason', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot' };
    // Refusals write nothing, so they run at once: their process start-ups overlap.
    const [missing, noReason, noRun, refused, forced] = await Promise.all([
      runCli(['promote-manual', '--run', 'runC', '--json'], { env }),
      runCli(['promote-manual', '--yes', '--run', 'runC'], { env }),
      runCli(['promote-manual', '--yes', '--reason', 'try'], { env }),
      runCli(['promote-manual', '--yes', '--run', 'runF', '--reason', 'try', '--json'], { env }),
      runCli(['promote-manual', '--yes', '--run', 'runF', '--reason', 'try', '--force', '--json'], { env }),
    ]);
    expect(missing.exitCode).toBe(2);
    // Each refusal names only the flag missing, not the --run or --reason it was given.
    expect(missing.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: 'With --json there is no screen to pick on: pass --reason "...".', details: { flags: ['--reason'] } });
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toContain('With --yes there is no screen to pick on: pass --reason "...".');
    expect(noReason.stderr).not.toContain('--run <run_id>');
    expect(noRun.exitCode).toBe(2);
    expect(noRun.stderr).toContain('With --yes there is no screen to pick on: pass --run <run_id>.');

    expect(refused.exitCode).toBe(5);
    expect(refused.json.error.code).toBe('FLTS_RUN_NOT_SUCCESSFUL');
    expect(forced.exitCode).toBe(5);
    expect(forced.json.error.code).toBe('FLTS_RUN_NOT_SUCCESSFUL');

    const done = await runCli(['promote-manual', '--yes', '--run', 'runC', '--reason', 'baseline for the demo', '--json'], { env });
    expect(done.exitCode).toBe(0);
    expect(done.json.result.record).toMatchObject({ run_id: 'runC', source: 'manual', reason: 'baseline for the demo', actor: 'ci-bot', previous_run_id: 'runA' });
    const history = await runCli(['promote', '--history', '--json'], { env });
    expect(history.json.result.history.map((r: { run_id: string; source: string }) => `${r.run_id}:${r.source}`)).toEqual(['runA:auto', 'runC:manual']);
  });

  it('says what `flts promote --run` says for the same promotion, forced or not, and leaves the same record', async () => {
    // A second home holding the same runs and history: each command promotes the same run from the same state.
    const other = mkdtempSync(path.join(tmpdir(), 'flts-promote-manual-'));
    try {
      const otherStore = createFsStore(path.join(other, 'store'));
      await seedRunbookRegistry(otherStore, settings);
      await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store: otherStore });
      // A gate runB fails (its RMSE 0.04 is not 50 % under the NAIVE's 0.042): --force promotes it over that, recorded.
      const env = (at: string) => ({ FLTS_HOME: at, FLTS_OPERATOR: 'ana', QUALITY_GATE_MIN_IMPROVEMENT_PCT: '50' });
      const [manual, cli] = await Promise.all([
        runCli(['promote-manual', '--yes', '--run', 'runB', '--reason', 'weekend fix', '--force'], { env: env(home) }),
        runCli(['promote', '--run', 'runB', '--reason', 'weekend fix', '--force'], { env: env(other) }),
      ]);
      expect(manual.exitCode, manual.stderr).toBe(0);
      expect(cli.exitCode, cli.stderr).toBe(0);
      const [mine, theirs] = [(await listPromotionHistory(store, settings)).at(-1)!, (await listPromotionHistory(otherStore, settings)).at(-1)!];
      expect(mine).toMatchObject({ run_id: 'runB', source: 'manual', actor: 'ana', reason: 'weekend fix', previous_run_id: 'runA', forced: true });
      const { timestamp: mineAt, ...mineFields } = mine;
      const { timestamp: theirsAt, ...theirFields } = theirs;
      expect(mineFields).toEqual(theirFields);
      // Only the history key's timestamp may differ between the two homes.
      const lines = (stdout: string, at: string) => stdout.replaceAll(historyKey({ ...mine, timestamp: at }), '<history key>');
      expect(lines(manual.stdout, mineAt)).toBe(lines(cli.stdout, theirsAt));
      expect(manual.stdout).toMatch(/^promoted GRU run runB \(config_hash [0-9a-f]{12}, score [0-9.]+, manual, forced over: .+\) — weekend fix$/m);
    } finally {
      rmSync(other, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });

  it('says which damaged runs the quality gate of the run it promotes was judged without', async () => {
    // A NAIVE newer than runC, sealed by its training and then edited: no baseline, so runB is judged against runC.
    await addLoadableRun(store, settings, fakeRun('runEdited', 'NAIVE', { rmse: 0.039, mae: 0.03, mse: 0.0016 }, '2025-01-05T00:00:00.000Z'), { digests: true });
    const sealed = await readRunRecord(store, settings, 'runEdited');
    await saveRunRecord(store, settings, { ...sealed, metrics: fakeRun('runEdited', 'NAIVE', { rmse: 0.5, mae: 0.5, mse: 0.25 }, '').metrics });
    const done = await runCli(['promote-manual', '--yes', '--run', 'runB', '--reason', 'beats the baseline'], { env: { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot', QUALITY_GATE_MIN_IMPROVEMENT_PCT: '1' } });
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toContain('left out: Run runEdited is damaged: runs/runEdited/run.json does not have the SHA-256 its training sealed it with (edited since training).');
    expect(done.stdout).toContain('promoted GRU run runB');
  });

  it('refuses --limit and --config-hash where no list is shown (--yes, --json, no terminal) rather than ignore them', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot' };
    // They choose what the screen lists: without one they were accepted and ignored, and runC was promoted.
    const [limited, hashed, both] = await Promise.all([
      runCli(['promote-manual', '--yes', '--run', 'runC', '--reason', 'r', '--limit', '5', '--json'], { env }),
      runCli(['promote-manual', '--run', 'runC', '--reason', 'r', '--config-hash', RUNBOOK_HASH], { env }),
      runCli(['promote-manual', '--run', 'runC', '--reason', 'r', '--limit', '5', '--config-hash', RUNBOOK_HASH, '--json'], { env }),
    ]);
    expect(limited.exitCode).toBe(2);
    expect(limited.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: 'With --yes there is no list of runs for --limit to choose from: --run names the run to promote; leave it out.', details: { flags: ['--limit'] } });
    expect(hashed.exitCode).toBe(2);
    expect(hashed.stderr).toContain('Without a terminal there is no list of runs for --config-hash to choose from');
    expect(both.exitCode).toBe(2);
    expect(both.json.error.code).toMatch(/^FLTS_USAGE_/);
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA']);
  });
});

describe('cli > promote (flags, history)', () => {
  it('pins the run the daemon put in service when asked to promote it, then changes nothing: exit 0 both times', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ana' };
    const [auto] = await listPromotionHistory(store, settings);
    const text = await runCli(['promote', '--run', 'runA', '--reason', 'holidays'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`LSTM run runA is already in service (promoted automatically ${auto.timestamp}); now pinned by manual ana — holidays.`);
    // What the pin holds against, and that newer data finishing after it still replaces the run: before, the line
    // said "pinned against automatic promotion", which a SUCCESS of newer data then contradicted.
    expect(text.stdout).not.toContain('pinned against automatic promotion and automatic rollback');
    expect(text.stdout.split('\n')).toContain(PIN_SCOPE_LINE);
    expect(PIN_SCOPE_LINE).toContain('a SUCCESS run of newer data that finishes after the pin has that data promoted automatically over it');
    const [, pin] = await listPromotionHistory(store, settings);
    expect(pin).toMatchObject({ run_id: 'runA', source: 'manual', actor: 'ana', reason: 'holidays', action: 'pin', pinned_timestamp: auto.timestamp, previous_run_id: null });
    expect(await readPromotionPointer(store, settings)).toEqual(pin);

    const json = await runCli(['promote', '--run', 'runA', '--reason', 'once more', '--force', '--json'], { env });
    expect(json.exitCode).toBe(0);
    // The run stands pinned, and this call changed nothing.
    expect(json.json.result).toMatchObject({ changed: false, pinned: true, record: pin, published: null });
    const manual = await runCli(['promote-manual', '--yes', '--run', 'runA', '--reason', 'keep it'], { env });
    expect(manual.exitCode).toBe(0);
    expect(manual.stdout).toContain(`LSTM run runA is already in service (pinned ${pin.timestamp} by manual ana); nothing changed.`);
    expect(manual.stdout.split('\n')).toContain(PIN_SCOPE_LINE);
    expect(await listPromotionHistory(store, settings)).toEqual([auto, pin]);
    expect((await readPromotionPointer(store, settings))?.timestamp).toBe(pin.timestamp);
  });

  it('pins from promote-manual --yes --json as well, saying so in the result', async () => {
    const pinned = await runCli(['promote-manual', '--yes', '--run', 'runA', '--reason', 'keep it', '--json'], { env: { FLTS_HOME: home, FLTS_OPERATOR: 'ana' } });
    expect(pinned.exitCode, pinned.stderr).toBe(0);
    expect(pinned.json.result).toMatchObject({ changed: true, pinned: true, published: null, tracking: { status: 'unchanged' }, record: { run_id: 'runA', action: 'pin', source: 'manual' }, diff: { same_run: true } });
  });

  it('--pin pins a run promoted by hand, then the run in service whoever promoted it; without --pin nothing is pinned', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ana' };
    const trail = async () => (await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}${r.pinned ? ':pinned' : ''}`);
    const plain = await runCli(['promote', '--run', 'runC', '--reason', 'by hand', '--json'], { env });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.json.result).toMatchObject({ changed: true, pinned: false, record: { run_id: 'runC', action: 'promote' } });
    expect(await trail()).toEqual(['runA:auto:promote', 'runC:manual:promote']);

    const inService = await runCli(['promote-manual', '--yes', '--pin', '--run', 'runC', '--reason', 'keep it', '--json'], { env });
    expect(inService.exitCode, inService.stderr).toBe(0);
    const [, promotion, pin] = await listPromotionHistory(store, settings);
    // The pin is written: a change, though the run in service stays and no replica reloads.
    expect(inService.json.result).toMatchObject({ changed: true, pinned: true, published: null, record: pin, diff: { same_run: true } });
    expect(pin).toMatchObject({ run_id: 'runC', action: 'pin', source: 'manual', actor: 'ana', reason: 'keep it', pinned_timestamp: promotion.timestamp, previous_run_id: 'runA' });
    const again = await runCli(['promote', '--run', 'runC', '--pin', '--reason', 'still'], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    const againJson = await runCli(['promote', '--run', 'runC', '--pin', '--reason', 'still', '--json'], { env });
    expect(againJson.json.result).toMatchObject({ changed: false, pinned: true, record: pin });
    // Pinned already: the command says this call wrote nothing, and names no history record as if it had.
    expect(again.stdout).toContain(`NAIVE run runC is already in service and already pinned (${pin.timestamp} by manual ana — keep it); nothing changed.`);
    expect(again.stdout.split('\n')).toContain(PIN_SCOPE_LINE);
    expect(again.stdout).not.toContain('history ');
    expect(await trail()).toEqual(['runA:auto:promote', 'runC:manual:promote', 'runC:manual:pin']);

    const promoted = await runCli(['promote', '--run', 'runB', '--pin', '--reason', 'weekends'], { env });
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain('promoted GRU run runB');
    expect(promoted.stdout).toContain(`${PIN_SCOPE_LINE} Its live probation is still decided and reported.`);
    expect(await trail()).toEqual(['runA:auto:promote', 'runC:manual:promote', 'runC:manual:pin', 'runB:manual:promote:pinned']);
    expect((await runCli(['promote', '--history'], { env })).stdout).toMatch(/ promote\+pin +GRU +runB /);
    const refused = await runCli(['promote', '--rollback', '--pin', '--json'], { env });
    expect({ exitCode: refused.exitCode, code: refused.json?.error?.code }).toEqual({ exitCode: 2, code: 'FLTS_USAGE_INVALID_FLAG' });
  });

  it('with the brokers away, promotes and says once, as text, that model-selected was not published; --json keeps the log line', async () => {
    // A port nothing listens on: the bus refuses the notice within the command's connect bound, no Kafka started.
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ana', FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${await freePort()}`, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000' };
    const text = await runCli(['promote', '--run', 'runC', '--reason', 'brokers away'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain('promoted NAIVE run runC');
    // Before, stderr said it again as `warning: ... (promotion_publish_failed)` beside the report's own warning.
    expect(`${text.stdout}${text.stderr}`.match(/not published|promotion_publish_failed/g)).toEqual(['not published']);
    expect(text.stdout).toMatch(/warning: model-selected not published \(.+\); replicas still follow the pointers by polling\./);

    const json = await runCli(['promote', '--run', 'runB', '--reason', 'brokers away', '--json'], { env });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.json.result).toMatchObject({ changed: true, record: { run_id: 'runB' }, published: { topic: 'model-selected', ok: false } });
    const logged = json.stderr.split('\n').filter((line) => line.includes('"promotion_publish_failed"'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ level: 40, run_id: 'runB', topic: 'model-selected' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runB');
  }, 60_000);

  it('refuses --config-hash beside --run or --rollback, and --min-improvement beside --rollback, instead of ignoring them', async () => {
    const env = { FLTS_HOME: home };
    const other = 'd'.repeat(64);
    const cases = [['--run', 'runC', '--config-hash', other], ['--rollback', '--config-hash', other], ['--history', '--config-hash', other], ['--rollback', '--min-improvement', '90']];
    const runs = await Promise.all(cases.map((args) => runCli(['promote', ...args, '--json'], { env })));
    for (const [i, args] of cases.entries()) {
      const refused = runs[i];
      expect({ args, exitCode: refused.exitCode, code: refused.json?.error?.code }).toEqual({ args, exitCode: 2, code: 'FLTS_USAGE_INVALID_FLAG' });
    }
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA']);
    const best = await runCli(['promote', '--best', '--config-hash', RUNBOOK_HASH, '--min-improvement', '1', '--json'], { env });
    expect(best.exitCode).toBe(0);
    expect(best.json.result.record).toMatchObject({ run_id: 'runB', source: 'best' });
  });

  it('lists history records other writers left with line breaks or terminal escapes one line each, as text', async () => {
    const [record] = await listPromotionHistory(store, settings);
    const timestamp = '2025-02-01T00:00:00.000000Z';
    await putJson(store, settings.store.buckets.promotion, historyKey({ ...record, timestamp }), { ...record, timestamp, reason: 'line one\nline two\u001B[2J', actor: 'x\ry' });
    const listed = await runCli(['promote', '--history'], { env: { FLTS_HOME: home } });
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).not.toMatch(/[\u0000-\u0009\u000B-\u001F]/);
    expect(listed.stdout.trim().split('\n')).toHaveLength(2);
    expect(listed.stdout).toContain('by x y  line one line two [2J');
  });
});

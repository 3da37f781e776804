import { Box, Text, useApp, useStdout } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { singleLine } from '../../core/clip-text.js';
import { isAutomaticChoice, isPin } from '../../core/registry/pointers.js';
import type { ManualPromotionResult, PromotionCandidates } from '../../core/runbooks/index.js';
import type { WritesAtStop } from '../stop-signals.js';
import { CandidateDiff } from './candidate-diff.js';
import { useKeys, type Keypress } from './use-keys.js';

/**
 * How the screen ended: `cancelled` is the operator leaving on purpose (q or escape); `stopped` is Ctrl-C (or a signal
 * from outside), which ends the command with its coded stop as in `flts promote`, saying where it found the writes.
 */
export type ScreenOutcome =
  | { kind: 'promoted'; result: ManualPromotionResult }
  | { kind: 'cancelled' }
  | { kind: 'stopped'; signal: NodeJS.Signals; writes: WritesAtStop }
  | { kind: 'failed'; error: unknown };

export interface PromoteManualScreenProps {
  candidates: PromotionCandidates;
  force: boolean;
  /** --pin: the run promoted is pinned, and so is the run in service when it is selected (unless pinned already). */
  pin?: boolean;
  /** `current`: the run in service the operator saw and confirmed replacing (null: none). */
  onPromote: (runId: string, reason: string, current: string | null) => Promise<ManualPromotionResult>;
  onExit: (outcome: ScreenOutcome) => void;
  /** A run named on the command line (--run): the cursor starts on it. */
  initialRunId?: string;
  /** A reason given on the command line (--reason): the reason starts as it. */
  initialReason?: string;
  /** False where NO_COLOR asks for no colours: notices and failures in the terminal's own colour (bold, dim and inverse stay). */
  colors?: boolean;
}

type Step = 'list' | 'reason' | 'confirm' | 'working' | 'done';
interface ViewState {
  step: Step;
  cursor: number;
  reason: string;
  notice: string;
  outcome?: ScreenOutcome;
}
const VISIBLE = 12;
/** The run id column is as wide as the ids flts makes (32 characters) before a column it may drop; a longer one keeps its last characters. */
const ID_MIN = 32;
/** Narrower than that only on a terminal without room for the mark, model, status and score beside 32 characters. */
const ID_FLOOR = 16;
const ID_TAIL = 8;

/** The list's columns that make way on a narrow terminal, most wanted first: all of them from 106 columns. */
type Optional = 'rank' | 'targets' | 'config_hash' | 'rmse' | 'mae';
const OPTIONAL_ORDER: readonly Optional[] = ['rank', 'targets', 'config_hash', 'rmse', 'mae'];
/** The cursor marks, model, status and score, each after a space but the first: what every row keeps. */
const KEPT_WIDTH = 3 + 8 + 1 + 8 + 1 + 9;

/**
 * Which columns a terminal `columns` wide shows, and the run id column's width. The model, status and score stay
 * beside a run id cut in its middle, and the columns a narrow terminal has no room for are dropped whole, least wanted
 * first (mae, rmse, config_hash, then the targets and rank of the boards): cut at the terminal's edge, an 80-column
 * terminal showed half of an rmse and lost the rank and targets under 106. Room left over widens a long id.
 */
export function listColumns(columns: number, longestId: number, targetsWidth: number): { idWidth: number; shown: ReadonlySet<Optional> } {
  const widths: Record<Optional, number> = { rank: 1 + 4, targets: 1 + targetsWidth, config_hash: 1 + 12, rmse: 1 + 9, mae: 1 + 9 };
  const idBase = Math.min(longestId, KEPT_WIDTH + 1 + ID_MIN <= columns ? ID_MIN : Math.max(ID_FLOOR, columns - KEPT_WIDTH - 1));
  let used = KEPT_WIDTH + 1 + idBase;
  const shown = new Set<Optional>();
  for (const column of OPTIONAL_ORDER) {
    if (used + widths[column] > columns) continue;
    shown.add(column);
    used += widths[column];
  }
  return { idWidth: Math.min(longestId, idBase + Math.max(0, columns - used)), shown };
}
/** Lines the diff keeps under a list cut to a short terminal: the blank line and its title, the run compared. */
const DIFF_MIN = 2;
const num = (value: number | null): string => (value === null ? '-' : value.toFixed(5));
/** Keys such as arrows that arrive inside typed or pasted text (one chunk), as the terminal sends them. */
const KEY_SEQUENCE = /\u001B(?:\[[0-9;?]*[ -/]*[@-~]|O.)/g;
/** What a chunk of typing adds to the reason: its text, a pasted line break or tab as a space, keys dropped. */
const typedText = (input: string): string => singleLine(input.replace(KEY_SEQUENCE, ''));

/**
 * The manual promotion runbook: pick a run (arrows or j/k, enter), read its difference to the promoted run,
 * type a reason, confirm with y. q or escape leaves the list, escape steps back elsewhere; nothing is written until
 * the confirmation. Ctrl-C stops the command anywhere, as it stops `flts promote`: at once before the promotion is
 * confirmed, once it is written after. Plain text and keys only (works over SSH).
 */
export function PromoteManualScreen({ candidates, force, pin = false, onPromote, onExit, initialRunId, initialReason, colors = true }: PromoteManualScreenProps) {
  const { exit } = useApp();
  const rows = candidates.candidates;
  const named = initialRunId === undefined ? -1 : rows.findIndex((row) => row.run_id === initialRunId);
  // Keys are read from a ref, not from render state: a key arriving before React re-subscribes the handler
  // (fast typing, a paste right after enter) must still see the step it belongs to.
  const state = useRef<ViewState>({
    step: 'list',
    cursor: Math.max(0, named),
    reason: typedText(initialReason ?? ''),
    notice: initialRunId !== undefined && named < 0 ? `Run ${initialRunId} is not in this list (--config-hash <its hash> lists it, --yes promotes it without the screen).` : '',
  });
  /** The list rows the last frame showed: what page up and page down move by. */
  const page = useRef(VISIBLE);
  /** Ctrl-C pressed while the promotion was being written: the command stops once it is. */
  const stopAsked = useRef(false);
  const [, setVersion] = useState(0);
  const update = (patch: Partial<ViewState>): void => {
    state.current = { ...state.current, ...patch };
    setVersion((v) => v + 1);
  };
  const size = useTerminalSize();
  const { step, cursor, reason, notice, outcome } = state.current;
  const selected = rows[cursor];
  // The run in service by the daemon's choice, or with --pin any run in service not pinned yet: promoting it pins it
  // against automatic promotion and rollback (it stays, no reload).
  const current = candidates.current;
  const pinnable = current !== null && (pin ? !isPin(current) : isAutomaticChoice(current));
  const pinNote = !pinnable ? undefined : pin ? 'with --pin: promoting it pins it' : 'automatically: promoting it pins it';

  const finish = (result: ScreenOutcome): void => {
    update({ step: 'done', outcome: result });
    onExit(result);
  };
  // Leaving once the outcome is on screen: exiting from the key handler unmounted the frame before it, so the
  // terminal kept the list without "Cancelled" or the failure.
  useEffect(() => {
    if (step === 'done') exit();
  }, [step, exit]);

  /** One key, as the step it arrives in reads it. */
  const onKey = ({ name, sequence }: Keypress): void => {
    const { step, cursor, reason } = state.current;
    const selected = rows[cursor];
    if (name === 'ctrl-c' && step === 'working') stopAsked.current = true;
    if (step === 'working' || step === 'done') return;
    if (name === 'ctrl-c') return finish({ kind: 'stopped', signal: 'SIGINT', writes: 'none' });
    update({ notice: '' });
    if (step === 'list') {
      if (sequence === 'q' || name === 'escape') return finish({ kind: 'cancelled' });
      if (name === 'up' || sequence === 'k') update({ cursor: Math.max(0, cursor - 1) });
      else if (name === 'down' || sequence === 'j') update({ cursor: Math.min(rows.length - 1, cursor + 1) });
      // A page is the rows the terminal shows: 50 runs are four presses, not fifty.
      else if (name === 'pageup') update({ cursor: Math.max(0, cursor - page.current) });
      else if (name === 'pagedown') update({ cursor: Math.min(rows.length - 1, cursor + page.current) });
      else if (name === 'home') update({ cursor: 0 });
      else if (name === 'end') update({ cursor: rows.length - 1 });
      else if (name === 'return' && selected) {
        if (selected.diff.same_run && !pinnable) update({ notice: `${selected.run_id} is already the promoted run, ${pin && current && isPin(current) ? 'pinned' : 'chosen'} by ${current?.source ?? 'someone'}.` });
        else if (selected.problems.length > 0) update({ notice: `${selected.run_id} cannot be promoted: serving could not load it.` });
        else update({ step: 'reason' });
      }
    } else if (step === 'reason') {
      if (name === 'escape') update({ step: 'list' });
      else if (name === 'return') update(reason.trim() ? { step: 'confirm' } : { notice: 'A reason is required.' });
      else if (name === 'backspace') update({ reason: reason.slice(0, -1) });
      else if (name === 'char') update({ reason: reason + typedText(sequence) });
    } else if (step === 'confirm') {
      if (sequence === 'y' || sequence === 'Y') {
        update({ step: 'working' });
        onPromote(selected.run_id, reason.trim(), candidates.current?.run_id ?? null).then(
          (result) => finish(stopAsked.current ? { kind: 'stopped', signal: 'SIGINT', writes: result.changed ? 'writing' : 'none' } : { kind: 'promoted', result }),
          (error: unknown) => finish({ kind: 'failed', error }),
        );
      } else if (sequence === 'n' || sequence === 'N' || name === 'escape') update({ step: 'reason' });
    }
  };

  /**
   * Several keys of one chunk into the reason: typing ahead or a paste, taken as text (a line break or tab as a space,
   * arrows dropped, so a pasted line break never confirms), backspace still deleting and Ctrl-C still stopping.
   */
  const typeReason = (keys: Keypress[]): void => {
    let text = '';
    const flush = (): void => {
      if (text) update({ notice: '', reason: state.current.reason + typedText(text) });
      text = '';
    };
    for (const key of keys) {
      if (key.name === 'ctrl-c' || key.name === 'backspace') {
        flush();
        onKey(key);
      } else text += key.sequence;
    }
    flush();
  };

  useKeys((keys) => {
    for (const [i, key] of keys.entries()) {
      if (state.current.step === 'reason' && keys.length - i > 1) return typeReason(keys.slice(i));
      onKey(key);
    }
  });

  const leftOutText =
    candidates.corrupt.length > 0 ? `left out, damaged: ${candidates.corrupt.length > 3 ? `${candidates.corrupt.length} runs (flts eval lists them)` : candidates.corrupt.map((run) => run.message).join(' ')}` : '';
  const leftOut = leftOutText ? (
    <Text color={colors ? 'yellow' : undefined} wrap="truncate-end">
      {leftOutText}
    </Text>
  ) : null;
  if (rows.length === 0) {
    return (
      <Box flexDirection="column">
        <Text>No runs{candidates.config_hash ? ` for config_hash ${candidates.config_hash}` : ''}. Press q to leave.</Text>
        {leftOut}
      </Box>
    );
  }
  // What the operator must read whole (the reason, the question, the outcome) wraps; the list and the diff are cut
  // to what the terminal has left, so that the frame never outgrows it: ink redraws a frame as tall as the terminal
  // from its top, and the terminal kept only its last lines, without the list or the run under the cursor.
  const bottom: Array<{ key: string; text: string; color?: string; bold?: boolean; marginTop?: number }> = [];
  if (step === 'reason' || step === 'confirm') bottom.push({ key: 'reason', text: `Reason: ${reason}${step === 'reason' ? '_' : ''}`, marginTop: 1 });
  if (step === 'confirm' && selected.diff.same_run) bottom.push({ key: 'ask', bold: true, text: `Pin ${selected.model_type} run ${selected.run_id} against automatic promotion and rollback? It stays in service. [y/N]` });
  if (step === 'confirm' && !selected.diff.same_run) {
    const replacing = candidates.current ? `, replacing ${candidates.current.run_id}` : '';
    bottom.push({ key: 'ask', bold: true, text: `Promote ${selected.model_type} run ${selected.run_id}${replacing}${pin ? ', and pin it against automatic promotion and rollback' : ''}? [y/N]` });
  }
  if (step === 'working') bottom.push({ key: 'working', text: `Promoting ${selected.run_id}…` });
  if (outcome?.kind === 'cancelled') bottom.push({ key: 'outcome', text: 'Cancelled; nothing was written.' });
  if (outcome?.kind === 'stopped') bottom.push({ key: 'outcome', text: `Stopped by ${outcome.signal}; ${outcome.writes === 'none' ? 'nothing was written.' : 'the promotion was written whole first.'}` });
  // A failure is not said here: the command ends with it as a coded error (its code and hint) just below the screen,
  // where this line said its message a second time.
  if (notice) bottom.push({ key: 'notice', color: 'yellow', text: notice });
  const bottomHeight = bottom.reduce((lines, line) => lines + (line.marginTop ?? 0) + wrappedHeight(line.text, size.columns), 0);
  // Runs older than the --limit most recent are not listed: said, or an operator looking for one would think it gone.
  const notListed = candidates.not_listed > 0 ? `${candidates.not_listed} older ${candidates.not_listed === 1 ? 'run' : 'runs'} not listed: --limit ${rows.length + candidates.not_listed} or --config-hash <hash> lists ${candidates.not_listed === 1 ? 'it' : 'them'}.` : '';
  // Title, heading and key line, the older runs' and damaged runs' lines, the bottom; one line spare, as ink needs.
  const spare = size.rows - 1 - 3 - (notListed ? 1 : 0) - (leftOut ? 1 : 0) - bottomHeight;
  const visible = Math.max(1, Math.min(rows.length, VISIBLE, spare - DIFF_MIN));
  page.current = visible;
  const first = Math.min(Math.max(0, cursor - Math.floor(visible / 2)), Math.max(0, rows.length - visible));
  // Run ids are 32 characters as flts makes them, up to 128 as a store may hold them: the column fits the longest.
  // An id longer than the terminal leaves room for is cut in its middle, so that its two ends tell it apart and the
  // figures after it stay on screen (a 128-character id pushed score, rmse and mae out of a 120-column terminal).
  const longest = rows.reduce((width, row) => Math.max(width, row.run_id.length), 'run_id'.length);
  const targetsWidth = rows.reduce((width, row) => Math.max(width, row.targets.join(',').length), 'targets'.length);
  const { idWidth, shown } = listColumns(size.columns, longest, targetsWidth);
  /** A column's text, after its space, when the terminal has room for it. */
  const cell = (column: Optional, text: string): string => (shown.has(column) ? ` ${text}` : '');
  const shownId = (id: string): string => (id.length <= idWidth ? id : `${id.slice(0, idWidth - ID_TAIL - 1)}…${id.slice(-ID_TAIL)}`);
  const position = rows.length > visible ? `${first + 1}-${first + visible} of ${rows.length}; ` : '';
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        flts promote-manual — {candidates.config_hash ? `config_hash ${candidates.config_hash.slice(0, 12)}` : 'recent runs'}; current: {candidates.current ? `${candidates.current.model_type} ${candidates.current.run_id}` : 'none'}
      </Text>
      <Text dimColor wrap="truncate-end">
        {'   '}{'model'.padEnd(8)} {'run_id'.padEnd(idWidth)}{cell('config_hash', 'config_hash'.padEnd(12))} {'status'.padEnd(8)} {'score'.padStart(9)}{cell('rmse', 'rmse'.padStart(9))}{cell('mae', 'mae'.padStart(9))}{cell('rank', 'rank'.padEnd(4))}{cell('targets', 'targets')}
      </Text>
      {rows.slice(first, first + visible).map((row, i) => {
        const index = first + i;
        const mark = `${index === cursor ? '>' : ' '}${row.is_current ? '*' : ' '}${row.problems.length > 0 ? '!' : ' '}`;
        return (
          <Text key={row.run_id} inverse={index === cursor} wrap="truncate-end">
            {mark}{row.model_type.padEnd(8)} {shownId(row.run_id).padEnd(idWidth)}{cell('config_hash', row.config_hash.slice(0, 12).padEnd(12))} {row.status.padEnd(8)} {num(row.score).padStart(9)}{cell('rmse', num(row.metrics?.rmse ?? null).padStart(9))}{cell('mae', num(row.metrics?.mae ?? null).padStart(9))}{cell('rank', String(row.rank ?? '-').padEnd(4))}{cell('targets', row.targets.join(','))}
          </Text>
        );
      })}
      <Text dimColor wrap="truncate-end">{position}q quit, enter select, up/down or j/k move   * promoted  ! cannot be promoted</Text>
      {notListed ? (
        <Text dimColor wrap="truncate-end">
          {notListed}
        </Text>
      ) : null}
      {leftOut}
      {selected ? <CandidateDiff candidate={selected} force={force} pinNote={pinNote} maxLines={spare - visible} colors={colors} /> : null}
      {bottom.map((line) => (
        <Box key={line.key} marginTop={line.marginTop ?? 0}>
          <Text color={colors ? line.color : undefined} bold={line.bold}>
            {line.text}
          </Text>
        </Box>
      ))}
    </Box>
  );
}

/** The terminal's size, drawn again when it changes (SIGWINCH); a stream that reports none has no height limit. */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows > 0 ? stdout.rows : Number.POSITIVE_INFINITY });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

/** The lines `text` takes wrapped at `columns`, word by word as ink wraps it (a word longer than a line is cut). */
function wrappedHeight(text: string, columns: number): number {
  let lines = 1;
  let used = 0;
  for (const word of text.split(' ')) {
    const length = Array.from(word).length;
    if (used > 0 && used + 1 + length <= columns) used += 1 + length;
    else if (used === 0 && length <= columns) used = length;
    else {
      if (used > 0) lines += 1;
      lines += Math.max(0, Math.ceil(length / columns) - 1);
      used = length % columns || (length > 0 ? columns : 0);
    }
  }
  return lines;
}

import { detectCadence, formatTimestamp } from './timestamps.js';

/**
 * How regular a time column is. Every model assumes one step between rows (the dominant one, which also dates
 * the forecasts): a gap puts rows that were hours apart next to each other in a window, a changed cadence
 * makes a window span another length of time than the model learnt. Kept as a record (snake_case): it goes
 * into sidecars, responses and results as it is.
 */
export interface TimeSteps {
  /** The dominant step in ms: the most common difference between consecutive times (`detectCadence`). */
  step_ms: number;
  /** Steps longer than the dominant one: missing rows, or a slower cadence. */
  gaps: number;
  /** Steps shorter than the dominant one: a faster cadence, or rows off the grid. */
  short_steps: number;
  /** The longest step longer than the dominant one; null without gaps. */
  largest_gap: TimeGap | null;
}

export interface TimeGap {
  /** 0-based row (in time order) after which the gap opens. */
  after_row: number;
  from: string;
  to: string;
  ms: number;
}

/**
 * The steps of strictly increasing times (at least two; fewer have no step to describe), measured against
 * `stepMs`; from row `from` on when only the last rows matter (a model's input window), rows still counted
 * from the first.
 */
export function describeTimeSteps(time: Float64Array, stepMs = detectCadence(time), from = 0): TimeSteps {
  let gaps = 0;
  let shortSteps = 0;
  let largest = -1;
  for (let i = Math.max(1, from + 1); i < time.length; i++) {
    const step = time[i] - time[i - 1];
    if (step > stepMs) {
      gaps++;
      if (largest < 0 || step > time[largest + 1] - time[largest]) largest = i - 1;
    } else if (step < stepMs) {
      shortSteps++;
    }
  }
  const largestGap = largest < 0 ? null : { after_row: largest, from: formatTimestamp(time[largest]), to: formatTimestamp(time[largest + 1]), ms: time[largest + 1] - time[largest] };
  return { step_ms: stepMs, gaps, short_steps: shortSteps, largest_gap: largestGap };
}

export function isIrregular(steps: TimeSteps): boolean {
  return steps.gaps > 0 || steps.short_steps > 0;
}

const UNITS: ReadonlyArray<[number, string]> = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/** A length of time as people say it, two units at most: "2 min", "3 h 4 min", "1 d 2 h", "250 ms". */
export function formatDurationMs(ms: number): string {
  const at = UNITS.findIndex(([size]) => ms >= size);
  if (at < 0) return `${Math.round(ms)} ms`;
  const [size, name] = UNITS[at];
  const whole = Math.floor(ms / size);
  const next = UNITS[at + 1];
  const rest = next ? Math.floor((ms - whole * size) / next[0]) : 0;
  return rest > 0 ? `${whole} ${name} ${rest} ${next[1]}` : `${whole} ${name}`;
}

/** Something about the data a user should know although it was read: shown by the CLI, returned in JSON. */
export interface DataWarning {
  code: 'irregular_time_steps' | 'unordered_rows' | 'repeated_timestamps';
  message: string;
  details: Record<string, unknown>;
}

/**
 * Irregular steps as a warning, the same from preprocess, /predict and batch inference; undefined when the
 * times are regular. `rows` names what was looked at ("The rows of example.csv", "The request rows").
 */
export function timeStepsWarning(steps: TimeSteps, rows: string): DataWarning | undefined {
  if (!isIrregular(steps)) return undefined;
  const step = formatDurationMs(steps.step_ms);
  const parts: string[] = [];
  if (steps.largest_gap) {
    const gap = steps.largest_gap;
    parts.push(`${steps.gaps} gap${steps.gaps === 1 ? '' : 's'} (steps longer than the usual ${step}), the largest ${formatDurationMs(gap.ms)} from ${gap.from} to ${gap.to} (after row ${gap.after_row} in time order)`);
  }
  if (steps.short_steps > 0) parts.push(`${steps.short_steps} step${steps.short_steps === 1 ? '' : 's'} shorter than ${step}`);
  return { code: 'irregular_time_steps', message: `${rows} are not evenly spaced: ${parts.join('; ')}. The models take consecutive rows as ${step} apart.`, details: { ...steps } };
}

/** Rows that came before the row above them, sorted into time order: a file written out of order, or two files pasted together. */
export function unorderedRowsWarning(unorderedRows: number, rows: string): DataWarning | undefined {
  if (unorderedRows === 0) return undefined;
  return { code: 'unordered_rows', message: `${rows} are not in time order: ${unorderedRows} row(s) come earlier than the row before them; they were sorted by time.`, details: { unordered_rows: unorderedRows } };
}

/**
 * Rows that repeated a timestamp, merged into their mean: a file's rule wherever one is read (preprocess, batch
 * inference), so that every time is one row, one step from the next, as the model windows take rows.
 */
export function repeatedTimestampsWarning(mergedRows: number, rows: string): DataWarning | undefined {
  if (mergedRows === 0) return undefined;
  return {
    code: 'repeated_timestamps',
    message: `${rows} repeat a timestamp: ${mergedRows} row(s) were merged into the row of the same time, each time keeping the mean of its values. Local times repeat when clocks go back (DST): write them with their UTC offset (2024-10-27T02:30:00+02:00, then +01:00), or in UTC.`,
    details: { merged_rows: mergedRows },
  };
}

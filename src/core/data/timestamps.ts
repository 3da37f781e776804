import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';

// Year first, so a date is never ambiguous: ISO's dashes or the slashes of spreadsheet exports (one of the two
// throughout), months, days and hours with or without their leading zero.
const ISO_LIKE = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

const twoDigits = (text: string, at: number): number => {
  const high = text.charCodeAt(at) - 48;
  const low = text.charCodeAt(at + 1) - 48;
  return high >= 0 && high <= 9 && low >= 0 && low <= 9 ? high * 10 + low : Number.NaN;
};

/** The range ISO text can write with a four-digit year: 0000-01-01 to 9999-12-31T23:59:59.999. */
export const MIN_TIMESTAMP_MS = -62_167_219_200_000;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

const inRange = (ms: number): boolean => ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS;

/** Date.UTC, except that years 0-99 stay themselves (Date.UTC reads them as 1900-1999). */
export function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month, day, hour, minute, second, ms);
  const date = new Date(Date.UTC(2000, month, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  return date.getTime();
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (the one Date.UTC uses), month 1-12, by
 * integer arithmetic alone; for fields already checked to name a real date.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

const daysInMonth = (year: number, month: number): number => (month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/**
 * "YYYY-MM-DD HH:MM:SS" (or with "T"), what every request row of the reference clients carries, read without
 * a regular expression or a Date; undefined for any other shape, which the general parser then handles.
 */
function parsePlainDateTime(text: string): number | undefined {
  if (text.length !== 19) return undefined;
  const separator = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (separator !== 32 && separator !== 84) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (Number.isNaN(year + month + day + hour + minute + second)) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
}

/** Epoch ms already (a Date's, a Parquet datetime's) held to years 0000-9999; NaN outside them. */
export function epochMsInRange(ms: number): number {
  return inRange(ms) ? ms : Number.NaN;
}

export type EpochUnit = 's' | 'ms' | 'us' | 'ns';

/**
 * The size where each unit's numbers end: the 10-, 13-, 16- and 19-digit epoch times of today are seconds,
 * milliseconds, microseconds and nanoseconds, as log and date libraries read them (Go's dateparse by digit
 * count). Each unit thus reads every time from 1973-03-03 (1970-04-26 for ms and finer) to 2286-11-20, and
 * epoch ms, what flts read every number as before, keep their meaning over that whole span, but for the
 * 12-digit ones of 1976 whose digits also spell a date (`compactDateMs`).
 */
const EPOCH_UNITS: ReadonlyArray<{ unit: EpochUnit; below: number; toMs: (value: number) => number }> = [
  // Binary fractions of a second (1.7e9 + 0.1) are first rounded to the microsecond; then, as for finer units
  // and ISO text, digits past the millisecond are dropped.
  { unit: 's', below: 1e10, toMs: (value) => Math.floor(Math.round(value * 1e6) / 1e3) },
  { unit: 'ms', below: 1e13, toMs: (value) => value },
  { unit: 'us', below: 1e16, toMs: (value) => Math.floor(value / 1e3) },
  { unit: 'ns', below: 1e19, toMs: (value) => Math.floor(value / 1e6) },
];

/**
 * Below this size a number is within three years of 1970 in seconds and a day in milliseconds: either reading
 * is a guess, and such numbers are more often row numbers or offsets than times, so they are refused.
 */
export const EPOCH_AMBIGUOUS_BELOW = 1e8;

/** How a number in a time column was read: in an epoch unit, or as a digits-only date. */
type NumberForm = EpochUnit | 'compact';

const UNIT_NAMES: Record<NumberForm, string> = {
  s: 'epoch seconds',
  ms: 'epoch milliseconds',
  us: 'epoch microseconds',
  ns: 'epoch nanoseconds',
  compact: 'a digits-only date (yyyyMMdd[HHmm[ss]])',
};

/** What every reader accepts as a time, for messages. */
export const ACCEPTED_TIMES =
  'year-first ISO 8601 text ("2018-02-05 23:40:00" read as UTC, an offset converted to UTC; "2018/02/05 23:40" also read, day-first dates are not), an epoch number in seconds (10 digits), milliseconds (13), microseconds (16) or nanoseconds (19), told apart by its size, or a digits-only date (yyyyMMdd, yyyyMMddHHmm or yyyyMMddHHmmss, years 1900-2099)';

/** A plain decimal number written as text (a CSV cell, a BYTES tensor element), sign and exponent allowed. */
const NUMERIC_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** The unit a finite number's size names; undefined when too small to tell (`EPOCH_AMBIGUOUS_BELOW`) or too large for any. */
export function epochUnit(value: number): EpochUnit | undefined {
  const size = Math.abs(value);
  if (!(size >= EPOCH_AMBIGUOUS_BELOW)) return undefined;
  return EPOCH_UNITS.find((band) => size < band.below)?.unit;
}

function epochNumberToMs(value: number): number {
  const size = Math.abs(value);
  if (!(size >= EPOCH_AMBIGUOUS_BELOW)) return Number.NaN;
  const band = EPOCH_UNITS.find((candidate) => size < candidate.below);
  return band ? band.toMs(value) : Number.NaN;
}

/**
 * Digits-only dates as exports and loggers write them, year first: yyyyMMdd (8 digits), yyyyMMddHHmm (12) and
 * yyyyMMddHHmmss (14), years 1900-2099. Read by size alone, 12 and 14 digits would be epoch milliseconds of 1976
 * and microseconds of 1970, never what a file means (pandas reads such text as a date too); 8 digits are too
 * small for an epoch number. Only values that name a real date and time are read this way.
 */
const COMPACT_DATE = /^\s*(\d{8}|\d{12}|\d{14})\s*$/;

function compactDateMs(value: unknown): number | undefined {
  let digits: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 19_000_101 || value >= 1e14) return undefined;
    digits = String(value);
  } else if (typeof value === 'string') {
    const match = COMPACT_DATE.exec(value);
    if (!match) return undefined;
    digits = match[1];
  } else return undefined;
  if (digits.length !== 8 && digits.length !== 12 && digits.length !== 14) return undefined;
  const field = (at: number): number => twoDigits(digits, at);
  const year = field(0) * 100 + field(2);
  const [month, day, hour, minute, second] = [field(4), field(6), digits.length > 8 ? field(8) : 0, digits.length > 8 ? field(10) : 0, digits.length > 12 ? field(12) : 0];
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
}

/** A number (`value`, or text that is `number`) as a time: a digits-only date, else an epoch time in the unit its size names. */
function readNumber(value: unknown, number: number): { ms: number; form: NumberForm | undefined } {
  const compact = compactDateMs(value);
  return compact === undefined ? { ms: epochNumberToMs(number), form: epochUnit(number) } : { ms: compact, form: 'compact' };
}

/** A number as the time value it is: the number itself, or text that is one number. */
function asEpochNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
  return undefined;
}

/**
 * Why a value `parseTimestamp` refused is not a time, as the end of a sentence naming the value: a number's
 * two likely readings when it is too small to tell, that a number is too large, else the accepted forms.
 */
export function timeProblem(value: unknown): string {
  const number = asEpochNumber(value);
  if (number === undefined || !Number.isFinite(number)) return `expected ${ACCEPTED_TIMES}`;
  const size = Math.abs(number);
  if (size < EPOCH_AMBIGUOUS_BELOW) {
    return `a number too small to tell its unit (as epoch seconds ${formatEpochReading(number, 's')}, as epoch milliseconds ${formatEpochReading(number, 'ms')}); send ISO 8601 text, or an epoch number of at least ${EPOCH_AMBIGUOUS_BELOW} (seconds from 1973-03-03)`;
  }
  // Every number of a unit's size is a time of years 1653-2286: the only numbers left are too large.
  return `a number too large for an epoch time (in nanoseconds it would be past 2286-11-20); expected ${ACCEPTED_TIMES}`;
}

/** Digits past the millisecond a reading of a number shows: to the nanosecond, then an ellipsis. */
const READING_EXTRA_DIGITS = 6;

/**
 * A finite number's reading in a unit as time text, from the shortest decimal digits that name it (`String`, at most
 * ~25 characters whatever text was sent): through floating point, 1.5 ms would lose its half (".001") and 1.001 s come
 * out as 1000.999... ms (":01"). Digits past the millisecond are shown, not rounded, since a message names what was
 * sent; past the nanosecond they are cut, and an ellipsis says so.
 */
function formatEpochReading(value: number, unit: 's' | 'ms'): string {
  const match = /^(-?)(\d*)\.?(\d*)(?:e([+-]?\d+))?$/i.exec(String(value));
  if (!match) return formatTimestamp(value * (unit === 's' ? 1000 : 1));
  const [, sign, whole, fraction, exponent] = match;
  const mantissa = BigInt(`${sign}${whole || '0'}${fraction}`);
  // The reading in ms is mantissa / 10^fractionDigits, exactly.
  const fractionDigits = fraction.length - Number(exponent ?? 0) - (unit === 's' ? 3 : 0);
  if (fractionDigits <= 0) return formatTimestamp(Number(mantissa * 10n ** BigInt(-fractionDigits)));
  const divisor = 10n ** BigInt(fractionDigits);
  let ms = mantissa / divisor;
  let rest = mantissa % divisor;
  if (rest < 0n) {
    ms -= 1n;
    rest += divisor;
  }
  const extra = rest.toString().padStart(fractionDigits, '0').replace(/0+$/, '');
  if (extra === '' || !inRange(Number(ms))) return formatTimestamp(Number(ms));
  const shown = extra.length > READING_EXTRA_DIGITS ? `${extra.slice(0, READING_EXTRA_DIGITS)}…` : extra;
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${shown}`;
}

/** A time column's first value that is not a time, or the first number in another unit than the column's first one. */
export interface TimeColumnProblem {
  /** 0-based position in the values given. */
  index: number;
  value: unknown;
  /** The end of a sentence naming the value, as `timeProblem` writes it. */
  reason: string;
}

/**
 * A column of times to epoch ms, by the one rule every reader follows (`parseTimestamp`), and one more: the
 * numbers of one column are in one unit, so a column that mixes seconds and milliseconds is refused (read
 * value by value it would jump decades between rows).
 */
export function parseTimeColumn(values: ArrayLike<unknown>): { time: Float64Array; problem?: undefined } | { time?: undefined; problem: TimeColumnProblem } {
  const reader = timeColumnReader(values);
  const problem = reader.read(values.length);
  return problem ? { problem } : { time: reader.time };
}

/** `parseTimeColumn` a range of rows at a time, so a long column can be read across event-loop turns. */
export interface TimeColumnReader {
  /** Epoch ms of the rows read so far. */
  readonly time: Float64Array;
  /** Reads the rows up to `to` (exclusive); the column's first problem stops it. */
  read(to: number): TimeColumnProblem | undefined;
}

export function timeColumnReader(values: ArrayLike<unknown>): TimeColumnReader {
  const time = new Float64Array(values.length);
  let firstUnit: { unit: NumberForm; index: number } | undefined;
  let firstClock: ClockedTime | undefined;
  let next = 0;
  return {
    time,
    read(to) {
      for (; next < Math.min(to, values.length); next++) {
        const index = next;
        const value = values[index];
        const number = asEpochNumber(value);
        if (number === undefined && typeof value === 'string') {
          const { ms, zoned } = readTimeText(value);
          if (Number.isNaN(ms)) return { index, value, reason: timeProblem(value) };
          time[index] = ms;
          const form = zoned ? 'offset' : 'naive';
          firstClock ??= { form, index, value };
          if (isUtc(form) !== isUtc(firstClock.form)) return { index, value, reason: mixedClocksReason(form, firstClock) };
          continue;
        }
        const { ms, form } = number === undefined ? { ms: parseTimestamp(value), form: undefined } : readNumber(value, number);
        if (Number.isNaN(ms)) return { index, value, reason: timeProblem(value) };
        time[index] = ms;
        if (form === undefined) continue;
        const unit = form;
        firstUnit ??= { unit, index };
        if (unit !== firstUnit.unit) {
          return { index, value, reason: `${UNIT_NAMES[unit]} by its size, but the column's first number (position ${firstUnit.index}) is in ${UNIT_NAMES[firstUnit.unit]}; write one column in one unit` };
        }
        const clock = unit === 'compact' ? 'compact' : 'epoch';
        firstClock ??= { form: clock, index, value };
        if (isUtc(clock) !== isUtc(firstClock.form)) return { index, value, reason: mixedClocksReason(clock, firstClock) };
      }
      return undefined;
    },
  };
}

/**
 * How a time is written, for the rule that a column is either all UTC instants (text with an offset or Z, epoch
 * numbers) or all wall-clock times (text without an offset, digits-only dates), which are read as UTC.
 */
type ClockForm = 'offset' | 'epoch' | 'naive' | 'compact';
interface ClockedTime {
  form: ClockForm;
  index: number;
  value: unknown;
}

const isUtc = (form: ClockForm): boolean => form === 'offset' || form === 'epoch';

const CLOCK_FORM_NAMES: Record<ClockForm, string> = {
  offset: 'text with a UTC offset',
  epoch: 'an epoch number, a time in UTC',
  naive: 'text without a UTC offset',
  compact: 'a digits-only date, a wall-clock time without an offset',
};

/**
 * A column whose times are some with a UTC offset and some without is refused as pandas refuses it: the ones
 * without would be read as UTC, hours off the others whenever the offset is not zero, and nothing would say so.
 * An epoch number is a UTC instant as text with a Z is, and a digits-only date a wall-clock time as text without
 * an offset is: beside each other they were read without a word too.
 */
function mixedClocksReason(form: ClockForm, first: ClockedTime): string {
  const firstTime = `the column's first time, ${JSON.stringify(clip(String(first.value), 40))} (position ${first.index}),`;
  if (form === 'naive' && first.form === 'offset') return `text without a UTC offset, which would be read as UTC, but ${firstTime} has one; ${MIXED_TEXT_FIX}`;
  if (form === 'offset' && first.form === 'naive') return `text with a UTC offset, but ${firstTime} has none and was read as UTC; ${MIXED_TEXT_FIX}`;
  const fix = 'write every time in UTC (text with its offset or Z, or epoch numbers), or every time as text without an offset';
  if (isUtc(form)) return `${CLOCK_FORM_NAMES[form]}, but ${firstTime} is ${CLOCK_FORM_NAMES[first.form]}, read as UTC; ${fix}`;
  return `${CLOCK_FORM_NAMES[form]}, which would be read as UTC, but ${firstTime} is ${CLOCK_FORM_NAMES[first.form]}; ${fix}`;
}

const MIXED_TEXT_FIX = 'write every time with its offset (or Z), or none';

/** Time text to epoch ms, and whether it carries its offset from UTC (a Z or ±hh:mm); ms is NaN for text that is not a time. */
function readTimeText(value: string): { ms: number; zoned: boolean } {
  // Text as the reference writes it first, on its path without a regular expression: the common case of every row.
  const plain = parsePlainDateTime(value);
  if (plain !== undefined) return { ms: plain, zoned: false };
  const match = ISO_LIKE.exec(value.trim());
  if (!match) return { ms: NUMERIC_TEXT.test(value) ? readNumber(value, Number(value)).ms : Number.NaN, zoned: false };
  const [, y, , mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = match;
  const ms = Number((frac + '000').slice(0, 3));
  const utc = utcMs(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(utc);
  // Date.UTC silently rolls 2018-02-30 over to March; reject instead.
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return { ms: Number.NaN, zoned: false };
  if (!zone) return { ms: utc, zoned: false };
  if (zone.toUpperCase() === 'Z') return { ms: utc, zoned: true };
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const [offsetHours, offsetMins] = [Number(digits.slice(0, 2)), Number(digits.slice(2, 4))];
  // The widest offsets in use are -12:00 and +14:00; +18:00 is where java.time stops too.
  if (offsetHours > 18 || offsetMins > 59) return { ms: Number.NaN, zoned: true };
  const offsetMinutes = offsetHours * 60 + offsetMins;
  const shifted = utc - sign * offsetMinutes * 60_000;
  return { ms: inRange(shifted) ? shifted : Number.NaN, zoned: true };
}

/**
 * Parses one timestamp to epoch ms. Naive wall-clock text is read as UTC (how flts stores time); text with an
 * offset is converted to UTC. Day-first or month-first dates (05/02/2018) are refused: which one a file means
 * cannot be told from one row. A digits-only date (`compactDateMs`) is that date; any other number (or text
 * that is one number) is an epoch time in the unit its size names (`epochUnit`). Anything else, and any time outside years 0000-9999, is NaN; `timeProblem` says why.
 */
export function parseTimestamp(value: unknown): number {
  if (typeof value === 'number') return readNumber(value, value).ms;
  if (typeof value !== 'string') return Number.NaN;
  return readTimeText(value).ms;
}

/**
 * Pandas-style ISO text without a zone ("2018-02-06T00:02:00"), what the reference API returns. Never throws:
 * a time outside years 0000-9999 (which parsing and forecasting refuse) is written as its epoch ms.
 */
export function formatTimestamp(epochMs: number): string {
  if (!inRange(epochMs)) return `${epochMs} ms since the epoch`;
  const iso = new Date(epochMs).toISOString();
  return iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
}

/**
 * The series step: the most common difference between consecutive timestamps. Callers guarantee strictly
 * increasing times, so the step is always positive (the reference's F9 "division by zero" cannot happen).
 */
export function detectCadence(time: Float64Array): number {
  if (time.length < 2) throw new FltsError('FLTS_REQUEST_INVALID', 'At least two timestamps are needed to know the series step.');
  // A regular series (every request of a client that samples on a clock) needs no count per step.
  let best = time[1] - time[0];
  let regular = true;
  for (let i = 2; i < time.length && regular; i++) regular = time[i] - time[i - 1] === best;
  if (!regular) best = mostCommonStep(time);
  if (!(best > 0)) throw new FltsError('FLTS_REQUEST_INVALID', `The series step is ${best} ms; timestamps must be strictly increasing.`);
  return best;
}

/** The most common difference between consecutive times; the smallest of equally common ones. */
function mostCommonStep(time: Float64Array): number {
  const counts = new Map<number, number>();
  let best = 0;
  let bestCount = 0;
  for (let i = 1; i < time.length; i++) {
    const step = time[i] - time[i - 1];
    const count = (counts.get(step) ?? 0) + 1;
    counts.set(step, count);
    if (count > bestCount || (count === bestCount && step < best)) {
      best = step;
      bestCount = count;
    }
  }
  return best;
}

/**
 * A forecast of `steps` rows after `lastMs` every `cadenceMs` must end by 9999-12-31, the last time ISO text
 * can write; a 400 saying so instead of a wrong date or a crash.
 */
export function assertForecastInRange(lastMs: number, cadenceMs: number, steps: number): void {
  const endMs = lastMs + cadenceMs * steps;
  if (!inRange(endMs)) {
    throw new FltsError('FLTS_REQUEST_INVALID', `A forecast of ${steps} rows every ${cadenceMs} ms after ${formatTimestamp(lastMs)} would run past 9999-12-31; ask for fewer rows.`, {
      details: { steps, cadenceMs },
    });
  }
}

/** Strictly increasing, finite times, or a 400 naming the first offending row. */
export function assertStrictlyIncreasing(time: Float64Array, column: string): void {
  for (let i = 1; i < time.length; i++) {
    const step = time[i] - time[i - 1];
    if (step === 0) {
      throw new FltsError('FLTS_REQUEST_INVALID', `Column '${column}' has a duplicate timestamp at rows ${i - 1} and ${i} (${formatTimestamp(time[i])}); timestamps must be unique (a zero time step).`, {
        details: { column, row: i },
      });
    }
    if (step < 0) {
      throw new FltsError('FLTS_REQUEST_INVALID', `Column '${column}' is not increasing at row ${i} (${formatTimestamp(time[i])} after ${formatTimestamp(time[i - 1])}); send rows in time order.`, {
        details: { column, row: i },
      });
    }
  }
}

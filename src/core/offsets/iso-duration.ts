import { FltsError } from '../errors.js';
import { clip } from '../clip-text.js';

const DURATION = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1_000] as const;

function invalid(text: string, why: string, flag?: string): FltsError {
  const what = flag ? `--${flag} ${JSON.stringify(clip(text))}` : `Duration ${JSON.stringify(clip(text))}`;
  return new FltsError('FLTS_USAGE_INVALID_FLAG', `${what} ${why}: expected ISO-8601 PnDTnHnMnS, e.g. P1D, PT6H, PT30M, P1DT2H30M15.5S.`, { details: { ...(flag ? { flag } : {}), value: clip(text) } });
}

/**
 * An ISO-8601 duration in milliseconds (`flag` names the flag it came from in a refusal), in the subset `kafka-consumer-groups --by-duration` accepts
 * (java.time.Duration: days, hours, minutes, seconds). Years, months and weeks have no fixed length and are
 * refused rather than guessed.
 */
export function parseIsoDuration(text: string, flag?: string, options: { bounded?: boolean } = {}): number {
  const trimmed = text.trim();
  const match = DURATION.exec(trimmed);
  if (!match || trimmed.toUpperCase() === 'P' || trimmed.toUpperCase().endsWith('T')) {
    if (/^P.*[YW]/i.test(trimmed) || /^P[^T]*\d+M/i.test(trimmed)) throw invalid(text, 'uses years, months or weeks, which have no fixed length', flag);
    throw invalid(text, 'is not a duration', flag);
  }
  const ms = Math.round(match.slice(1).reduce((sum, part, i) => sum + (part === undefined ? 0 : Number(part) * UNIT_MS[i]), 0));
  // With `bounded` (a time to wait), P99999999999999999999D counts no real span: read as 8.6e27 ms or Infinity, it
  // waited for ever. Unbounded (how far back to go), it means the log start, as kafka-consumer-groups reads it.
  if (options.bounded && !Number.isSafeInteger(ms)) throw invalid(text, `is longer than ${MAX_DAYS} days, the longest duration flts counts`, flag);
  return ms;
}

/** The days in Number.MAX_SAFE_INTEGER milliseconds (about 285,000 years), rounded down. */
const MAX_DAYS = Math.floor(Number.MAX_SAFE_INTEGER / UNIT_MS[0]);

const ZONE = /(Z|[+-]\d{2}(?::?\d{2})?)$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?/;

/**
 * `--to-datetime` value as epoch ms. Accepts Kafka's `YYYY-MM-DDTHH:mm:SS.sss` with or without a zone; a
 * value without a zone is read as UTC (Kafka would use the machine's zone, which differs between the
 * operator's laptop and the server they SSH into).
 */
export function parseResetDateTime(text: string): number {
  const trimmed = text.trim();
  if (!DATE_TIME.test(trimmed)) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `Date-time ${JSON.stringify(clip(text))} is not ISO-8601: expected YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm], e.g. 2025-11-04T09:30:00Z.`, { details: { value: clip(text) } });
  }
  const withZone = ZONE.test(trimmed) && trimmed.includes('T') ? trimmed : `${trimmed.includes('T') ? trimmed : `${trimmed}T00:00:00`}Z`;
  const ms = Date.parse(withZone.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(ms)) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `Date-time ${JSON.stringify(clip(text))} is not a valid instant (check the month, day and zone).`, { details: { value: clip(text) } });
  }
  return ms;
}

import { FltsError } from '../errors.js';

/** "1,2,4,8" -> [1, 2, 4, 8]: positive integers, de-duplicated, in the given order. */
export function parseCountList(text: string, name: string, max = 4096): number[] {
  const values = text.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
  const parsed = values.map((part) => Number(part));
  const bad = values.filter((_, i) => !Number.isInteger(parsed[i]) || parsed[i] < 1 || parsed[i] > max);
  if (values.length === 0 || bad.length > 0) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${name} must be a comma-separated list of integers from 1 to ${max}; got "${text}".`, { details: { flag: name, value: text } });
  }
  return [...new Set(parsed)];
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60 };

/** "30s", "500ms", "2m" or a bare number of seconds -> seconds. */
export function parseDurationSeconds(text: string, name: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] ?? 's'] : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${name} must be a positive duration such as 30s, 500ms or 2m; got "${text}".`, { details: { flag: name, value: text } });
  }
  return seconds;
}

/**
 * Naive wall-clock timestamps (`YYYY-MM-DD HH:MM:SS`, no zone) are read as UTC epoch milliseconds, so
 * calendar features never depend on the machine's time zone.
 */

function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return Number.NaN;
    value = value * 10 + code;
  }
  return value;
}

/**
 * Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DD HH:MM:SS.fff` (a `T`
 * separator is accepted too). Returns NaN for anything else, including impossible dates such as Feb 30.
 */
export function parseNaiveTimestamp(text: string): number {
  const s = text.trim();
  const n = s.length;
  if (n < 10 || s[4] !== '-' || s[7] !== '-') return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  let hour = 0;
  let minute = 0;
  let second = 0;
  let millis = 0;
  if (n > 10) {
    if ((s[10] !== ' ' && s[10] !== 'T') || n < 16 || s[13] !== ':') return Number.NaN;
    hour = digits(s, 11, 2);
    minute = digits(s, 14, 2);
    if (n > 16) {
      if (s[16] !== ':' || n < 19) return Number.NaN;
      second = digits(s, 17, 2);
      if (n > 19) {
        if (s[19] !== '.' || n === 20) return Number.NaN;
        const fraction = s.slice(20);
        if (!/^\d+$/.test(fraction)) return Number.NaN;
        millis = Math.floor(Number(`0.${fraction}`) * 1000);
      }
    }
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls Feb 30 over to Mar 2; a round trip of the day catches it.
  return new Date(ms).getUTCDate() === day ? ms : Number.NaN;
}

/** The inverse, in the reference's spelling: `YYYY-MM-DD HH:MM:SS`. */
export function formatNaiveTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

import { FltsError } from './errors.js';

/**
 * Flags given with nothing in them (`--run ""`, `--out "$UNSET"`) are refused, where read as absent they did
 * something else without a word: `--run ""` benched the promoted run, `--group ""` was told to name a group it had
 * named. `what` is the kind of value the refusal asks for (`give it a file`).
 */
export function refuseEmptyFlags(flags: Record<string, string | undefined>, what = 'a value'): void {
  for (const [flag, value] of Object.entries(flags)) {
    if (value !== undefined && value.trim() === '') {
      throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${flag} is empty: give it ${what}, or leave the flag out.`, { details: { flag, value } });
    }
  }
}

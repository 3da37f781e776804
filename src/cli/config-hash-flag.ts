import { clip } from '../core/clip-text.js';
import { FltsError } from '../core/errors.js';
import { isConfigHash } from '../core/preprocess/processed-layout.js';

/**
 * `--config-hash` holds the whole hash: refused as the flag it is, before any work, when it does not (the 12-character
 * prefix that promotion lines and plot titles show is what a user copies first), rather than as a setting to fix.
 */
export function checkConfigHashFlag(value: string | undefined): void {
  if (value === undefined || isConfigHash(value)) return;
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--config-hash ${JSON.stringify(clip(value))} is not a config_hash: expected all 64 lower-case hex characters, as flts preprocess and flts eval print it (lines and plot titles that show 12 shorten it).`, {
    details: { flag: 'config-hash', value: clip(value) },
  });
}

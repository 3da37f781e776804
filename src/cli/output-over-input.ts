import { realpath } from 'node:fs/promises';
import { clip, quotedText } from '../core/clip-text.js';
import { FltsError } from '../core/errors.js';

/**
 * Refuses an output flag that names the local file an input flag reads, by whatever path or symbolic link: the output,
 * written whole in its place, would replace the data it was made from (`flts predict --data f.csv --out f.csv` left
 * forecasts where the user's data had been). An object of the embedded store is read from its file there, so the
 * caller names that file (`input.file`); a file that is not there yet, or an input that is no local file (an object
 * of an S3 store, `input.file` undefined), names nothing to replace.
 */
export async function refuseOutputOverInput(output: { flag: string; file: string | undefined }, input: { flag: string; file: string | undefined }): Promise<void> {
  if (output.file === undefined || input.file === undefined) return;
  const [written, read] = await Promise.all([realpath(output.file).catch(() => undefined), realpath(input.file).catch(() => undefined)]);
  if (written === undefined || written !== read) return;
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${output.flag} ${clip(quotedText(output.file))} is the file --${input.flag} reads: written there, the output would replace the data it is made from; name another file.`, {
    details: { flag: output.flag, value: output.file },
  });
}

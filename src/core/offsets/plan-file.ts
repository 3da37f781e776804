import { clip } from '../clip-text.js';
import { readFileBytes } from '../data/read-table.js';
import { FltsError, isFltsError } from '../errors.js';

/** A plan names one offset per partition: a few lines per topic. Far more is not a plan --export wrote. */
const MAX_PLAN_BYTES = 16 * 1024 ** 2;

/**
 * The text of a `--from-file` plan. Read through the data reader, which refuses a named pipe, a device or a
 * directory before reading: readFileSync of a FIFO waited for a writer for ever, and /dev/zero never ended.
 */
export async function readPlanFile(file: string): Promise<string> {
  try {
    return (await readFileBytes(file, MAX_PLAN_BYTES)).toString('utf8');
  } catch (cause) {
    const details = { file: clip(file) };
    if (isFltsError(cause) && cause.code === 'FLTS_DATA_FILE_NOT_FOUND') throw new FltsError('FLTS_OFFSETS_PLAN_NOT_FOUND', `Plan file ${clip(file)} not found.`, { cause, details });
    // The data reader names the data files' setting (FLTS_DATA_MAX_INPUT_BYTES), which does not govern a plan.
    if (isFltsError(cause) && cause.code === 'FLTS_DATA_TOO_LARGE') {
      const bytes = Number(cause.details?.bytes);
      throw new FltsError('FLTS_OFFSETS_PLAN_INVALID', `Plan file ${clip(file)} is ${bytes} bytes, more than a plan's fixed limit of 16 MiB (${MAX_PLAN_BYTES} bytes).`, {
        cause,
        details: { ...details, bytes, limit: MAX_PLAN_BYTES },
        hint: 'A plan names one offset per partition, a few lines per topic: check that --from-file names the CSV --export wrote, not a data file or a log.',
      });
    }
    const reason = isFltsError(cause) ? cause.message : (cause as Error).message;
    // The data reader's reasons begin with the path ("<file> is a directory, ..."): it is said once.
    const message = reason.startsWith(`${file} `) ? `Plan file ${clip(file)} ${reason.slice(file.length + 1)}` : `Cannot read plan file ${clip(file)}: ${reason}`;
    throw new FltsError('FLTS_OFFSETS_PLAN_INVALID', message, { cause, details });
  }
}

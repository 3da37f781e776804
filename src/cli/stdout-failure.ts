import { FltsError } from '../core/errors.js';
import { reportError } from './report-error.js';

/**
 * What a failed write to stdout ends with: oclif rethrows every stdout error but EPIPE from a listener of its own,
 * so a full disk under `flts ... > result.json` (ENOSPC) ended in a stack trace, exit 1. A reader that went away
 * (`flts ... | head`, EPIPE) did not want the rest; any other failure is said on stderr, as a coded error.
 */
export function onStdoutError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') return;
  const flts = new FltsError('FLTS_PATH_UNUSABLE', `Cannot write to standard output: ${error.message}.`, {
    cause: error,
    details: { path: 'stdout', errno: error.code },
    hint: 'Standard output goes to a file or device that refuses writes (a full disk, a closed terminal): free space there, or send the output elsewhere.',
  });
  // stdout refused already: under --json too, the error goes to stderr.
  process.exit(reportError(flts, { json: false, debug: process.argv.includes('--debug') }));
}

/** Answers stdout's failed writes with `onStdoutError` in place of the listener loading oclif put there. */
export function answerStdoutFailures(): void {
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', onStdoutError);
}

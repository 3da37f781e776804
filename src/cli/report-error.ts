import { ux, type Interfaces } from '@oclif/core';
import { MISLEADING_CHAR_RANGES, unicodeEscape } from '../core/clip-text.js';
import { exitCodeFor, type FltsError } from '../core/errors.js';
import { redactSecrets, redactValue } from '../core/redact.js';
import { snakeCaseKeys } from '../core/snake-case-keys.js';

export interface ReportErrorOptions {
  json: boolean;
  debug: boolean;
  /** oclif's JSON colours (`config.theme.json`), as `Command.logJson` uses them. */
  theme?: Interfaces.Theme['json'];
}

/**
 * Characters a terminal acts on rather than shows (MISLEADING_CHAR_RANGES: the escape that starts a colour or title
 * sequence, BEL, DEL and the C1 controls, line separators, bidirectional controls), less the two a message is laid out
 * with and shown as they are: the line feed between its lines and the tab.
 */
const MESSAGE_LAYOUT = '\\t\\n';
const ACTED_ON = new RegExp(`(?![${MESSAGE_LAYOUT}])[${MISLEADING_CHAR_RANGES}]`, 'gu');

/**
 * A message as text on a terminal: each such character written as its \u escape. Messages quote what the user typed
 * (a path, a dataset name), and `--train $'x\e]0;title\a.csv'` set the terminal's title and colours from stderr.
 */
export function onTerminal(text: string): string {
  return text.replace(ACTED_ON, unicodeEscape);
}

/**
 * Shows a failure the one way flts shows failures, from a command or from before one was found: the JSON
 * envelope on stdout under --json, else the code, message and hint on stderr. Returns the exit code.
 */
export function reportError(flts: FltsError, options: ReportErrorOptions): number {
  // Messages can carry configured URLs (MLFLOW_TRACKING_URI with a password, a presigned query): masked on every path out.
  const shown = redactValue(flts.toJSON());
  if (options.json) {
    // In the one field style of every --json document (its details included), as a command's result is.
    ux.stdout(ux.colorizeJson({ status: 'error', error: snakeCaseKeys(shown) }, { pretty: true, theme: options.theme }));
  } else {
    process.stderr.write(`Error ${shown.code}: ${onTerminal(shown.message)}\n`);
    if (shown.hint) process.stderr.write(`Hint: ${onTerminal(shown.hint)}\n`);
    if (options.debug) process.stderr.write(`${redactSecrets((flts.cause as Error)?.stack ?? flts.stack ?? '')}\n`);
  }
  return exitCodeFor(flts);
}

/**
 * Whether a command line asks for JSON, as oclif's Command.jsonEnabled decides, for the hooks that run where no
 * command does: `--json` among the options, or FLTS_CONTENT_TYPE=json.
 */
export function jsonRequested(options: readonly string[], config: Pick<Interfaces.Config, 'scopedEnvVar'>): boolean {
  return options.includes('--json') || config.scopedEnvVar('CONTENT_TYPE')?.toLowerCase() === 'json';
}

/**
 * Resolves once stdout has handed on everything written to it. oclif ends a failed command with process.exit, which
 * drops what a pipe has not taken yet: a JSON error larger than the pipe's buffer (64 KiB), read by a slower
 * process, arrived cut short and did not parse.
 */
export async function stdoutFlushed(stdout: NodeJS.WritableStream & { writableLength: number } = process.stdout, timeoutMs = STDOUT_FLUSH_TIMEOUT_MS): Promise<void> {
  if (stdout.writableLength === 0) return;
  // A reader that went away (EPIPE) or never reads (a pipe nobody drains) must not keep the process from exiting.
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const event of ['drain', 'error', 'close'] as const) stdout.removeListener(event, done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    for (const event of ['drain', 'error', 'close'] as const) stdout.once(event, done);
  });
}

/** How long a failed command waits for its error to be read before it exits anyway. */
const STDOUT_FLUSH_TIMEOUT_MS = 5_000;

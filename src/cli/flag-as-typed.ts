import { FltsError } from '../core/errors.js';

/** What a flag definition says of its other names: oclif's `char`, `aliases` and `charAliases`. */
interface FlagNames {
  char?: string;
  aliases?: readonly string[];
  charAliases?: readonly string[];
}

/**
 * The flags given only by another name (`-m` for `--model`, `--plot-out` for `--plot`), each as it was typed, from
 * the words of the command line before `--`. A flag also given by its own name is left out: the message names it as
 * typed already.
 */
export function flagsTypedOtherwise(argv: readonly string[], flags: Readonly<Record<string, FlagNames>>): Map<string, string> {
  const end = argv.indexOf('--');
  const words = end === -1 ? argv : argv.slice(0, end);
  const typedAs = new Map<string, Set<string>>();
  for (const word of words) {
    const long = /^--([^=]+)/.exec(word)?.[1];
    const short = long === undefined ? /^-([^-])/.exec(word)?.[1] : undefined;
    for (const [name, flag] of Object.entries(flags)) {
      const given =
        long !== undefined ? (long === name || flag.aliases?.includes(long) ? `--${long}` : undefined) : short !== undefined && (flag.char === short || flag.charAliases?.includes(short)) ? `-${short}` : undefined;
      if (given !== undefined) typedAs.set(name, (typedAs.get(name) ?? new Set()).add(given));
    }
  }
  const other = new Map<string, string>();
  for (const [name, forms] of typedAs) {
    if (!forms.has(`--${name}`) && forms.size === 1) other.set(name, [...forms][0]);
  }
  return other;
}

/** Codes whose message names a flag: a usage refusal, and a setting's value refused where a flag gave it. */
function namesFlag(error: FltsError): boolean {
  return error.code === 'FLTS_USAGE_INVALID_FLAG' || (error.code === 'FLTS_CONFIG_INVALID_VALUE' && error.details.source === 'flag');
}

/**
 * A refusal naming a flag by its own name where the user typed another (`-m`, the former `--plot-out`): the first
 * mention names both, as typed and its own name (`-m (--model)`, or `--plot-out (--plot, setting ...)` where a
 * parenthesis follows), so the user finds the word they typed and learns the name the help lists.
 */
export function namingFlagsAsTyped(error: FltsError, typed: ReadonlyMap<string, string>): FltsError {
  if (!namesFlag(error) || typed.size === 0) return error;
  let message = error.message;
  for (const [name, given] of typed) {
    // Whole names: `--plot` is not the start of `--plot-out`, nor `--model` of `--models`.
    const mention = new RegExp(`(?<![\\w-])--${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])( \\()?`);
    message = message.replace(mention, (_, paren?: string) => (paren ? `${given} (--${name}, ` : `${given} (--${name})`));
  }
  if (message === error.message) return error;
  return new FltsError(error.code, message, { details: error.details, hint: error.hint, cause: error });
}

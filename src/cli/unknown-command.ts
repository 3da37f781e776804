import type { Config } from '@oclif/core';
import { clip } from '../core/clip-text.js';
import { FltsError } from '../core/errors.js';
import { closestName } from '../core/closest-name.js';

/**
 * A command line naming no command (`typed` is oclif's id, its words joined by ":"): the coded usage error, naming
 * the command a typo most likely meant; one wording for the command_not_found hook and for `--help` alike.
 */
export function unknownCommandError(typed: string, config: Pick<Config, 'commands'>): FltsError {
  const name = clip(typed.replaceAll(':', ' '));
  const commands = config.commands.filter((command) => !command.hidden).map((command) => command.id.replaceAll(':', ' ')).sort();
  const meant = typed.startsWith('-') ? undefined : closestName(name, commands);
  // `flts --verison` read "No command given before --verison" alone, as if the flag had been spelt right.
  const flagMeant = typed.startsWith('-') ? closestName(typed, GLOBAL_FLAGS) : undefined;
  const flagHint = flagMeant ? ` Did you mean ${flagMeant}?` : '';
  const missed = typed.startsWith('-') ? `No command given before ${clip(typed)}: flts <command> [flags].${flagHint}` : meant ? `Unknown command "${name}"; did you mean "${meant}"?` : `Unknown command "${name}".`;
  // How other CLIs are asked for their version; flts answers only --version.
  const version = VERSION_ASKED.has(typed) ? ' `flts --version` prints the version.' : '';
  const suggestion = meant ?? flagMeant;
  return new FltsError('FLTS_USAGE_UNKNOWN_COMMAND', `${missed}${version}`, { details: { command: name, commands, ...(suggestion ? { suggestion } : {}) } });
}

/** The flags flts takes without a command. */
const GLOBAL_FLAGS: readonly string[] = ['--version', '--help'];

const VERSION_ASKED: ReadonlySet<string> = new Set(['version', '-v', '-V']);

import { stripVTControlCharacters } from 'node:util';
import { closestName } from '../core/closest-name.js';

/**
 * oclif's parse error text as one plain sentence: without its "The following error occurred:" preamble, its
 * "See more help with --help" footer (the hint says so) and the dim colour it gives the reasons on a terminal,
 * which would otherwise reach a JSON message as escape codes; a missing flag is named as it is typed, and an
 * unknown one with the flag of the command (`flagNames`) it most likely meant; a boolean flag without `=true`.
 */
export function usageMessage(oclifMessage: string, flagNames: readonly string[] = [], typed: TypedFlags = { argv: [], switches: [] }): string {
  const lines = stripVTControlCharacters(oclifMessage)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== 'See more help with --help' && !/^The following errors? occurred:$/.test(line));
  return lines.map((line) => withSwitchBefore(withMeantFlag(asTyped(line), flagNames), typed)).join('; ') || oclifMessage;
}

/** The words of the command line and the command's boolean flags, to tell a value given to a switch. */
export interface TypedFlags {
  argv: readonly string[];
  switches: readonly string[];
}

/**
 * A word after a switch (`flts eval --plot plot.svg`, as `predict --plot <file>` takes one) is an unexpected argument
 * to oclif: named as the value the switch does not take.
 */
function withSwitchBefore(line: string, typed: TypedFlags): string {
  const word = /^Unexpected arguments?: (.+)$/.exec(line)?.[1]?.split(', ')[0];
  if (word === undefined) return line;
  const before = typed.argv[typed.argv.indexOf(word) - 1];
  const name = before?.startsWith('--') ? before.slice(2) : undefined;
  return name !== undefined && typed.switches.includes(name) ? `${line}; --${name} is a switch and takes no value` : line;
}

/** A flag as the user typed it: a missing one with its dashes, a boolean one without the `=true` oclif adds. */
function asTyped(line: string): string {
  return line.replace(/^Missing required flag (\w[\w-]*)$/, 'Missing required flag --$1').replace(/^--([\w-]+)=true cannot also be provided when using /, '--$1 cannot also be provided when using ');
}

function withMeantFlag(line: string, flagNames: readonly string[]): string {
  const typed = /^Nonexistent flag: --([^\s=]+)$/.exec(line)?.[1];
  const meant = typed === undefined ? undefined : (closestName(typed, flagNames) ?? onlyFlagOpeningWith(typed, flagNames));
  return meant === undefined ? line : `${line}; did you mean --${meant}?`;
}

/**
 * The one flag whose leading words are the typed ones (`--grpc` for `--grpc-port`, `--rank` for `--rank-by`): a name
 * cut short is many edits from the flag, so closestName misses it. None when several open so.
 */
function onlyFlagOpeningWith(typed: string, flagNames: readonly string[]): string | undefined {
  const opening = flagNames.filter((name) => name.toLowerCase().startsWith(`${typed.toLowerCase()}-`));
  return opening.length === 1 ? opening[0] : undefined;
}

import { loadHelpClass, type Hook } from '@oclif/core';
import { clip } from '../core/clip-text.js';
import { FltsError } from '../core/errors.js';
import { commandBefore } from './command-prefix.js';
import { jsonRequested, reportError, stdoutFlushed } from './report-error.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's `command_not_found` hook. Without it oclif prints its own line on stderr, so a script running
 * `flts <typo> --json` gets nothing on stdout; here the miss is a coded usage error like any other.
 */
const commandNotFound: Hook.CommandNotFound = async function ({ id, argv = [], config }) {
  const words = [id, ...argv];
  const end = words.indexOf('--');
  const options = end === -1 ? words : words.slice(0, end);
  // `flts help [command]`, as git and npm take it: the help of that command (or topic, or of flts).
  const [first, ...subject] = id.split(':');
  const helpFor = first === 'help' ? [...subject, ...argv.filter((word) => !word.startsWith('-'))] : undefined;
  if (helpFor && (helpFor.length === 0 || config.findCommand(helpFor.join(':')) || config.findTopic(helpFor.join(':')))) {
    const Help = await loadHelpClass(config);
    await new Help(config, config.pjson.oclif.helpOptions).showHelp(helpFor);
    return;
  }
  // oclif's Command.jsonEnabled never runs here.
  const json = jsonRequested(options, config);
  const error = (helpFor ? undefined : unexpectedArgument(id)) ?? unknownCommandError(helpFor ? helpFor.join(':') : id, config);
  const exitCode = reportError(error, { json, debug: options.includes('--debug'), theme: config.theme?.json });
  process.exitCode = exitCode;
  await stdoutFlushed();
  this.exit(exitCode);

  /**
   * `flts promote <run_id>`: oclif takes a word right after a command for a subcommand, but the command exists and
   * the word is an argument it does not take, which oclif calls an unexpected argument when it follows a flag.
   */
  function unexpectedArgument(typed: string): FltsError | undefined {
    const command = commandBefore(typed, config);
    if (command === undefined) return undefined;
    const name = command.replaceAll(':', ' ');
    const argument = clip(typed.split(':').slice(command.split(':').length).join(' '));
    return new FltsError('FLTS_USAGE_INVALID_FLAG', `Unexpected argument: ${argument}; flts ${name} takes flags only.`, {
      details: { command: name, argument },
      hint: `\`flts ${name} --help\` lists its flags.`,
    });
  }
};

export default commandNotFound;

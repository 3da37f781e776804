import { Help } from '@oclif/core';
import { commandBefore } from './command-prefix.js';
import { jsonRequested, reportError, stdoutFlushed } from './report-error.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, for `flts promote 0123abcd --help` too: oclif took the words before the flag for one command id,
 * "promote:0123abcd", and answered with an uncoded "Command promote:0123abcd not found" (exit 2). The help of the
 * command named is what was asked for; without a help flag the command_not_found hook reports the word as an
 * unexpected argument. Words that name no command nor topic (`flts config foo --help`) are the coded unknown
 * command they are without the flag.
 */
export default class FltsHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    const words = argv.slice(0, firstFlag(argv));
    const id = words.join(':');
    const known = words.length === 0 || this.config.findCommand(id) !== undefined || this.config.findTopic(id) !== undefined;
    const command = known ? undefined : commandBefore(id, this.config);
    if (!known && command === undefined) {
      const exitCode = reportError(unknownCommandError(id, this.config), { json: jsonRequested(argv, this.config), debug: argv.includes('--debug'), theme: this.config.theme?.json });
      process.exitCode = exitCode;
      await stdoutFlushed();
      return;
    }
    return super.showHelp(command ? command.split(':') : argv);
  }
}

function firstFlag(argv: readonly string[]): number {
  const index = argv.findIndex((word) => word.startsWith('-'));
  return index === -1 ? argv.length : index;
}

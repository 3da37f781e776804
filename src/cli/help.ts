import { Help } from '@oclif/core';
import { commandBefore } from './command-prefix.js';

/**
 * oclif's help, for `flts promote 0123abcd --help` too: oclif took the words before the flag for one command id,
 * "promote:0123abcd", and answered with an uncoded "Command promote:0123abcd not found" (exit 2). The help of the
 * command named is what was asked for; without a help flag the command_not_found hook reports the word as an
 * unexpected argument.
 */
export default class FltsHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    const words = argv.slice(0, firstFlag(argv));
    const id = words.join(':');
    const command = words.length > 1 && !this.config.findCommand(id) && !this.config.findTopic(id) ? commandBefore(id, this.config) : undefined;
    return super.showHelp(command ? command.split(':') : argv);
  }
}

function firstFlag(argv: readonly string[]): number {
  const index = argv.findIndex((word) => word.startsWith('-'));
  return index === -1 ? argv.length : index;
}

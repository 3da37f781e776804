import { stripVTControlCharacters } from 'node:util';

/**
 * oclif's parse error text as one plain sentence: without its "The following error occurred:" preamble, its
 * "See more help with --help" footer (the hint says so) and the dim colour it gives the reasons on a terminal,
 * which would otherwise reach a JSON message as escape codes; a missing flag is named as it is typed.
 */
export function usageMessage(oclifMessage: string): string {
  const lines = stripVTControlCharacters(oclifMessage)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== 'See more help with --help' && !/^The following errors? occurred:$/.test(line));
  return lines.map((line) => line.replace(/^Missing required flag (\w[\w-]*)$/, 'Missing required flag --$1')).join('; ') || oclifMessage;
}

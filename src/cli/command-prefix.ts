import type { Config } from '@oclif/core';

/**
 * The command a command line names before words that are no part of it: the longest leading part of `id` (words
 * joined by ":", as oclif joins `flts promote 0123abcd` into "promote:0123abcd") shorter than all of it that names
 * a command, or undefined.
 */
export function commandBefore(id: string, config: Pick<Config, 'findCommand'>): string | undefined {
  const words = id.split(':');
  for (let length = words.length - 1; length > 0; length--) {
    const prefix = words.slice(0, length).join(':');
    if (config.findCommand(prefix)) return prefix;
  }
  return undefined;
}

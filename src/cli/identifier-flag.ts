import { Flags } from '@oclif/core';

/**
 * `--identifier`, one definition for every command whose work depends on the deployment scope (promotion pointers and
 * history, live reports, prediction logs, the claims it publishes): a user who scoped a promotion with it finds the
 * same flag, with the same precedence over IDENTIFIER, wherever that scope is read or written again.
 */
export const identifierFlag = Flags.string({
  description: 'Deployment identifier scoping promotions, live figures and prediction logs (env IDENTIFIER; default global).',
});

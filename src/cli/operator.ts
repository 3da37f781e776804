import os from 'node:os';

/**
 * Who runs a command, for the records it writes (a promotion's actor, an offsets audit line): FLTS_OPERATOR, else
 * the OS user. A process whose uid has no entry in the user database (a container run under an arbitrary uid, as
 * OpenShift and `docker run --user` do) has no user name, and os.userInfo() throws for it: it is named by its uid.
 */
export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLTS_OPERATOR) return env.FLTS_OPERATOR;
  try {
    return os.userInfo().username;
  } catch {
    return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'unknown';
  }
}

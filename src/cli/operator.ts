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

/**
 * The `mlflow.user` of the runs this process creates, found as MLflow's own clients find it (getpass.getuser()): the
 * first of LOGNAME, USER, LNAME and USERNAME that is set and not empty, else the name of the process's uid in the user
 * database. A uid with no entry there (a container under an arbitrary uid, a CI job without USER) is "unknown", the
 * name MLflow gives a run whose user it cannot tell, where getpass.getuser() would fail.
 */
export function mlflowUserName(env: NodeJS.ProcessEnv = process.env, userInfo: () => { username: string } = os.userInfo): string {
  for (const name of ['LOGNAME', 'USER', 'LNAME', 'USERNAME']) {
    const value = env[name];
    if (value) return value;
  }
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

// What a process under a uid the user database has no entry for (OpenShift, `docker run --user`) lacks before oclif
// loads, filled in for both launchers (bin/run.js, daemon/main.js): oclif names the user's shell by SHELL, else by the
// user database, which throws for such a uid, and its error printer asks for the home directory (HOME, else the user
// database) as it loads. Either ended every command, --help too, in a stack trace.
import os from 'node:os';

export function fillBareEnvironment() {
  // Such a process gets the POSIX shell's name, as a login without one would.
  if (!process.env.SHELL) {
    try {
      os.userInfo();
    } catch {
      process.env.SHELL = '/bin/sh';
    }
  }
  // And `/` for a home, as login(1) gives a user whose home directory is missing.
  try {
    os.homedir();
  } catch {
    process.env.HOME = '/';
  }
}

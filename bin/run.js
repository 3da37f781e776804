#!/usr/bin/env node
// A stop while the command's modules still load is answered as the command answers it later (bin/early-signals.js):
// `flts daemon` and `flts serve` exit 0, the commands with a coded stop end with it; the others (config, help) keep
// the default action of a signal.
const command = process.argv[2];
const early = await import('./early-signals.js');
if (early.answersEarlySignals(command)) early.stopCleanlyUntilHandled(command, process.argv.slice(3));
// oclif names the user's shell by SHELL, else by the user database, which throws for a uid it has no entry for: a
// container run under an arbitrary uid (OpenShift, `docker run --user`) sets no SHELL either, and every command
// ended FLTS_INTERNAL there. Such a process gets the POSIX shell's name, as a login without one would.
const { default: os } = await import('node:os');
if (!process.env.SHELL) {
  try {
    os.userInfo();
  } catch {
    process.env.SHELL = '/bin/sh';
  }
}
// os.homedir() reads HOME, else the user database: a process under such a uid with no HOME (`docker run --user`
// with a bare environment, `env -i`) ended every command, --help too, in a stack trace, for oclif's error printer
// asks for the home directory as it loads. It gets `/`, as login(1) gives a user whose home directory is missing.
try {
  os.homedir();
} catch {
  process.env.HOME = '/';
}
const { execute } = await import('@oclif/core');
// Loading oclif put its stdout error listener in place, which throws any error but EPIPE; flts answers them instead.
const { onStdoutError } = await import('../dist/cli/stdout-failure.js');
process.stdout.removeAllListeners('error');
process.stdout.on('error', onStdoutError);
const { cliLoadOptions } = await import('./load-options.js');

await execute({ loadOptions: cliLoadOptions(import.meta.url) });

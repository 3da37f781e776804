#!/usr/bin/env node
// The daemon's executable entry: `flts daemon` itself, started by path (`node daemon/main.js [flags]`, or
// `flts-daemon` once installed). Settings are layered exactly as for every command (defaults < config file <
// environment < flags) and the runtime is src/core/daemon through src/commands/daemon.ts: there is no second
// wiring to drift. Signals: SIGTERM/SIGINT stop it cleanly (exit 0), also while its modules still load.
import { stopCleanlyUntilHandled } from '../bin/early-signals.js';

stopCleanlyUntilHandled('daemon', process.argv.slice(2));
// As for `flts`: a uid the user database does not name has no shell or home directory to give oclif as it loads.
const { fillBareEnvironment } = await import('../bin/bare-environment.js');
fillBareEnvironment();
// Imported only now: loading oclif and the command is most of the time before the command listens for signals.
const { execute } = await import('@oclif/core');
// As for `flts`: a write to stdout that fails (a full disk) is a coded error, not oclif's stack trace.
const { answerStdoutFailures } = await import('../dist/cli/stdout-failure.js');
answerStdoutFailures();
const { cliLoadOptions } = await import('../bin/load-options.js');
// `flts-daemon --version` asks what `flts --version` answers (the image's operators type it): the command has no such flag.
const args = process.argv.slice(2);
await execute({ loadOptions: cliLoadOptions(import.meta.url), args: args.length === 1 && args[0] === '--version' ? args : ['daemon', ...args] });

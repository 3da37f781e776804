#!/usr/bin/env node
// A stop while the command's modules still load is answered as the command answers it later (bin/early-signals.js):
// `flts daemon` and `flts serve` exit 0, the commands with a coded stop end with it; the others (config, help) keep
// the default action of a signal.
const command = process.argv[2];
// `flts serve` bounds its young generation first thing (src/cli/serving-heap.ts), before the rest loads only to load again;
// `flts daemon` does once its settings say it serves (FltsCommand.servesRequests).
if (command === 'serve') (await import('../dist/cli/serving-heap.js')).relaunchBoundedForServing();
const early = await import('./early-signals.js');
if (early.answersEarlySignals(command)) early.stopCleanlyUntilHandled(command, process.argv.slice(3));
// Before oclif loads: a uid the user database does not name has no shell or home directory to give it.
const { fillBareEnvironment } = await import('./bare-environment.js');
fillBareEnvironment();
const { execute } = await import('@oclif/core');
// Loading oclif put its stdout error listener in place, which throws any error but EPIPE; flts answers them instead.
const { answerStdoutFailures } = await import('../dist/cli/stdout-failure.js');
answerStdoutFailures();
// Everything written on stdout and stderr from here on is masked of secrets, whatever writes it (oclif included).
const { maskStandardStreams } = await import('../dist/cli/masked-stdio.js');
maskStandardStreams();
const { cliLoadOptions } = await import('./load-options.js');

await execute({ loadOptions: cliLoadOptions(import.meta.url) });

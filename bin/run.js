#!/usr/bin/env node
// `flts daemon` and `flts serve` exit 0 on SIGTERM/SIGINT also while their modules still load (bin/early-signals.js);
// every other command keeps the default action of a signal until it takes one itself.
const command = process.argv[2];
if (command === 'daemon' || command === 'serve') (await import('./early-signals.js')).stopCleanlyUntilHandled(command, process.argv.slice(3));
const { execute } = await import('@oclif/core');
const { cliLoadOptions } = await import('./load-options.js');

await execute({ loadOptions: cliLoadOptions(import.meta.url) });

#!/usr/bin/env node
// `flts daemon` exits 0 on SIGTERM/SIGINT also while its modules still load (daemon/early-signals.js); every other
// command keeps the default action of a signal until it takes one itself.
if (process.argv[2] === 'daemon') (await import('../daemon/early-signals.js')).stopCleanlyUntilHandled(process.argv.slice(3));
const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });

// Loaded with `node --import`: sends the process SIGNAL_AT_RENAME_SIGNAL (default SIGINT) as a file whose path matches
// SIGNAL_AT_RENAME is renamed into place (the last step of every whole-file write), and lets the rename go on once the
// process's own handlers took the signal: a stop that comes in the middle of that write. A process that does not
// listen for the signal meets its default action.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const pattern = new RegExp(process.env.SIGNAL_AT_RENAME);
const signal = process.env.SIGNAL_AT_RENAME_SIGNAL ?? 'SIGINT';
const rename = fs.promises.rename;
let sent = false;
fs.promises.rename = async function renameAfterSignal(from, to) {
  if (!sent && pattern.test(String(to))) {
    sent = true;
    const taken = process.listenerCount(signal) > 0 ? new Promise((resolve) => process.once(signal, resolve)) : undefined;
    // Signal handles do not keep the event loop alive: a ref'd timer does, until the signal is taken.
    const alive = setInterval(() => {}, 1000);
    process.kill(process.pid, signal);
    await taken;
    clearInterval(alive);
  }
  return rename.call(this, from, to);
};
syncBuiltinESMExports();

// Loaded with `node --import`: the first whole-file write whose path matches STUCK_AT_RENAME never ends (its rename or
// link into place, the last step of every such write, never answers), and a ref'd timer keeps the process alive from
// then, as a worker thread that stopped answering does: a training wedged after its last progress event. The timer
// ends the process with exit code 99 after 30 s, so that a process nothing else ends is never left behind.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const pattern = new RegExp(process.env.STUCK_AT_RENAME);
let stuck = false;
for (const name of ['rename', 'link']) {
  const original = fs.promises[name];
  fs.promises[name] = async function intoPlaceOrHang(from, to) {
    if (!stuck && pattern.test(String(to))) {
      stuck = true;
      setTimeout(() => process.exit(99), 30_000);
      return new Promise(() => {});
    }
    return original.call(this, from, to);
  };
}
syncBuiltinESMExports();

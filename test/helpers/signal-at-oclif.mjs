// Loaded with `node --import`: sends the process the signal named in EARLY_SIGNAL as its entry asks for oclif, after
// the entry ran and long before the command's modules load and it listens for signals itself.
import { registerHooks } from 'node:module';

let sent = false;
registerHooks({
  resolve(specifier, context, next) {
    if (!sent && specifier === '@oclif/core') {
      sent = true;
      process.kill(process.pid, process.env.EARLY_SIGNAL);
    }
    return next(specifier, context);
  },
});

// Preloaded with `node --import` into a process under test: appends the URL of every module that process
// (and each of its worker threads) resolves to the file named by FLTS_TEST_MODULE_TRACE, one per line, as
// "<thread id> <url>". Tests read it to see which modules a code path loads.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { threadId } from 'node:worker_threads';

const file = process.env.FLTS_TEST_MODULE_TRACE;
if (file) {
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      appendFileSync(file, `${threadId} ${resolved.url}\n`);
      return resolved;
    },
  });
}

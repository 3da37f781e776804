// A flts command (the built FltsCommand) whose work is done at once and whose bus and store close never ends, as a
// Kafka disconnect waiting for brokers that do not answer: the close sends the process HELD_CLOSE_SIGNAL (default
// SIGINT) once it began. HELD_CLOSE_FAIL=1 makes the work fail with a coded error instead. Arguments are the command's.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FltsCommand } from '../../dist/cli/base-command.js';
import { FltsError } from '../../dist/core/errors.js';

const signal = process.env.HELD_CLOSE_SIGNAL ?? 'SIGINT';

class HeldClose extends FltsCommand {
  async run() {
    await this.parse(HeldClose);
    // The dependencies a command built, handed in where dependencies() keeps them.
    this.built = Promise.resolve({
      close: () => {
        // Signal handles do not keep the event loop alive: a ref'd timer does, until the process took the signal.
        const alive = setInterval(() => {}, 1000);
        if (process.listenerCount(signal) > 0) process.once(signal, () => clearInterval(alive));
        process.kill(process.pid, signal);
        return new Promise(() => {});
      },
    });
    if (process.env.HELD_CLOSE_FAIL === '1') throw new FltsError('FLTS_RUN_NOT_FOUND', 'No run abc.', { details: { run_id: 'abc' } });
    return { done: true };
  }
}

try {
  await HeldClose.run(process.argv.slice(2), path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'));
} catch (error) {
  // oclif's exit (this.exit in catch) after the error was reported; its code is already process.exitCode.
  if (error?.oclif?.exit === undefined) throw error;
}

// `flts daemon` and `flts serve` take SIGTERM and SIGINT themselves (src/cli/stop-signals.ts) only once their modules
// have loaded, a second or more after the process started on a busy node. A signal before then would end the process
// by the default action: nothing said, no --json document, and exit status 128 + the signal's number, where the same
// service stopped at any later moment exits 0. Nothing has started by then (no server, no bus, no lease or lock), so
// the stop is answered here as the command answers a stop before it listens: no url, exit 0.

/** The --json result of each command stopped before it listened, less `stopped_by`. */
const NOTHING_STARTED = {
  daemon: { url: '', roles: [] },
  serve: { url: '', grpc_url: null, run_id: null },
};

/** Until `command` listens for a signal itself, that signal stops the process cleanly; `args` are the command's. */
export function stopCleanlyUntilHandled(command, args) {
  const json = args.includes('--json');
  for (const name of ['SIGINT', 'SIGTERM']) {
    const early = () => {
      // Once only: a second signal keeps its default action, as it has for the command.
      process.off(name, early);
      if (process.listenerCount(name) > 0) return; // the command's own listener has it
      const result = { ...NOTHING_STARTED[command], stopped_by: name };
      process.stdout.write(json ? `${JSON.stringify({ status: 'ok', result }, null, 2)}\n` : `${name}: stopped while loading\n`);
      process.exit(0);
    };
    process.on(name, early);
  }
}

// `flts daemon` takes SIGTERM and SIGINT itself (src/commands/daemon.ts) only once its modules have loaded, a second or
// more after the process started on a busy node. A signal before then would end the process by the default action:
// nothing said, no --json document, and exit status 128 + the signal's number, where a daemon stopped at any later
// moment exits 0. Nothing has started by then (no server, no bus, no lease or lock), so the stop is answered here as
// the command answers a stop before its health server listens: no url, no roles, exit 0.

/** Until the command listens for a signal itself, that signal stops the process cleanly; `args` are the command's. */
export function stopCleanlyUntilHandled(args) {
  const json = args.includes('--json');
  for (const name of ['SIGINT', 'SIGTERM']) {
    const early = () => {
      // Once only: a second signal keeps its default action, as it has for the command.
      process.off(name, early);
      if (process.listenerCount(name) > 0) return; // the command's own listener has it
      const result = { url: '', roles: [], stopped_by: name };
      process.stdout.write(json ? `${JSON.stringify({ status: 'ok', result }, null, 2)}\n` : `${name}: stopped while loading\n`);
      process.exit(0);
    };
    process.on(name, early);
  }
}

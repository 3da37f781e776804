import { Flags } from '@oclif/core';
import { listenForStop, unlessStopped } from '../cli/stop-signals.js';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { startServe } from '../core/daemon/start-serve.js';
import type { FltsEvent } from '../core/events.js';
import { redactSecrets } from '../core/redact.js';
import { createServeMetrics } from '../core/serve/serve-metrics.js';
import { unwrittenAtStop } from '../core/serve/start-inference-service.js';

export interface ServeResult {
  url: string;
  grpcUrl: string | null;
  runId: string | null;
  stoppedBy: string;
}

export default class Serve extends FltsCommand<ServeResult> {
  static override logsAsService = true;
  static override servesRequests = (): boolean => true;
  static override summary = 'Serve the promoted (or a pinned) model over HTTP until interrupted.';
  static override description =
    'Loads the run named by the first promotion pointer found (<identifier>/current.json when --identifier or IDENTIFIER names one, then current.json, then global/current.json) and reloads it when the pointer changes; --run pins one run. Routes: POST /predict, POST /actuals (observed values that score earlier forecasts), POST /reload_latest and POST /prune_logs?retention_days=N (admin: reload the promoted run now; delete prediction logs older than N days now), GET /livez (503 once a forward pass is stuck past serve.requestTimeoutMs), /healthz (with live accuracy), /readyz, /ready, /predict_ping, /metrics and /prometheus (Prometheus), /stats, /openapi.json, and the Open Inference Protocol under /v2 (and over gRPC on FLTS_SERVE_GRPC_PORT or --grpc-port). Says "Listening on <url>" on stdout once bound; SIGTERM or SIGINT stops it cleanly (a second one cuts the requests still in flight, a third ends the process at once), also while it starts (a store that does not answer is waited for): it then says "<signal>: stopped while starting" and exits 0 ("<signal>: stopped while loading" while its modules still load). --json prints its one JSON document (url, grpc_url, run_id, stopped_by; url empty when it stopped before it listened) on stdout only when the server stops, so a script that needs the port of --port 0 meanwhile reads url (and grpc_url) from the log line with msg "serve_listening". Logs are JSON lines on stderr; a stop by a signal ends them with "serve_stopped" (stopped_by, once its connections are drained).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --run <run_id> --port 8080',
    'FLTS_SERVE_PORT=9000 <%= config.bin %> <%= command.id %> --host 0.0.0.0',
  ];

  static override flags = {
    run: Flags.string({ description: 'Serve this run id and ignore promotions (env FLTS_SERVE_RUN).' }),
    port: Flags.string({ char: 'p', description: 'TCP port (env FLTS_SERVE_PORT or PORT, default 8000; 0 = any free port).' }),
    host: Flags.string({ description: 'Interface to bind (env FLTS_SERVE_HOST, default 127.0.0.1).' }),
    'grpc-port': Flags.string({ description: 'Also serve the Open Inference Protocol over gRPC on this port (env FLTS_SERVE_GRPC_PORT; 0 = any free port; default off).' }),
    identifier: identifierFlag,
  };

  async run(): Promise<ServeResult> {
    const { flags } = await this.parse(Serve);
    // Read as absent, `--run ""` served the promoted run, `--grpc-port ""` served no gRPC and `--host ""` bound every
    // interface, without a word.
    refuseEmptyFlags({ run: flags.run, host: flags.host, 'grpc-port': flags['grpc-port'] });
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier, 'serve.runId': flags.run, 'serve.port': flags.port, 'serve.host': flags.host, 'serve.grpcPort': flags['grpc-port'] });
    // Listened for before anything starts: "Listening on" is printed while the model still loads, and a signal
    // sent after it must stop the server cleanly rather than kill the process.
    // One during start-up ends the start, which may wait long on a store that does not answer (as `flts daemon`'s does).
    const stop = listenForStop();
    // Made before the bus, which reports the crashes of its consumers and its broker connections to this /metrics.
    const metrics = createServeMetrics();
    const { store, bus, logger } = await this.dependencies(settings, { service: 'inference-api', busMetrics: metrics.bus });
    // Known from the moment the server listens: a stop before the model loaded still reports where it was.
    let listeningUrl = '';
    const poll = settings.serve.pollIntervalMs;
    const meanwhile = poll > 0 ? `promotions still arrive by reading the pointer every ${poll / 1000} s.` : 'promotions are not followed until then (serve.pollIntervalMs is 0).';
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'serve.listening') listeningUrl = event.url;
      if (event.type === 'serve.listening') this.say(`Listening on ${event.url}${event.grpcUrl ? ` (Open Inference Protocol gRPC on ${event.grpcUrl})` : ''}`);
      if (event.type === 'serve.model_loaded') this.say(`Serving run ${event.runId} (${event.modelType}, config_hash ${event.configHash})`);
      if (event.type === 'serve.model_load_failed') this.say(`Run ${event.runId} could not be loaded: ${event.message}`);
      const follows = bus !== undefined || poll > 0;
      if (event.type === 'serve.waiting_for_promotion') this.say(`No run is promoted yet: predictions answer 503 (FLTS_SERVE_NO_MODEL) until one is (\`flts promote --best\`)${follows ? ', which this server then loads' : '; POST /reload_latest then loads it'}.`);
      // Logged as well: under --json the line below is not printed, and the log alone says why promotions are not followed.
      // The bus's message quotes its brokers as configured, user:password@ included: masked, as the daemon's startup line masks it.
      if (event.type === 'serve.promotions_unavailable') logger.warn({ topic: event.topic, code: event.code, err: redactSecrets(event.message), retry_in_ms: event.retryInMs, ...(event.advertised ? { advertised: event.advertised } : {}) }, 'serve_promotions_unavailable');
      if (event.type === 'serve.promotions_unavailable') this.say(`Not following ${event.topic} yet (${event.code}: ${redactSecrets(event.message)}); ${meanwhile} Trying again in ${Math.round(event.retryInMs / 1000)} s.`);
      if (event.type === 'serve.following_promotions') this.say(`Following ${event.topic} as group ${event.group}`);
      if (event.type === 'live.rolled_back') this.say(`Rolled back run ${event.runId} to ${event.restoredRunId}: ${event.reason}`);
    };
    const serve = await unlessStopped(startServe(settings, { store, bus, logger, onEvent, metrics, signal: stop.signal }), stop);
    if (!serve) {
      const signal = await stop.stopped;
      this.say(`${signal}: stopped while starting`);
      if (process.connected) process.disconnect();
      return { url: listeningUrl, grpcUrl: null, runId: null, stoppedBy: signal };
    }
    // A signal, or the holder giving up: nothing served and no wait can change that (a refused key, a pinned run
    // gone), so the process exits with that error and a restart reads the settings again.
    const ended = await Promise.race([stop.stopped, serve.gaveUp]);
    if (typeof ended === 'string') this.say(`${ended}: stopping (requests in flight are answered first; a second signal cuts them, a third ends the process at once)`);
    const onHurried = (): void => {
      this.say(`${stop.hurriedBy()}: cutting the requests still in flight (the last writes still get up to ${settings.serve.shutdownWritesTimeoutMs / 1000} s; a third signal ends the process at once)`);
      logger.warn({ signal: stop.hurriedBy() }, 'serve_stop_hurried');
    };
    if (stop.hurried.aborted) onHurried();
    else stop.hurried.addEventListener('abort', onHurried, { once: true });
    const runId = serve.runId();
    const stopped = await serve.stop({ cut: stop.hurried }).finally(() => stop.hurried.removeEventListener('abort', onHurried));
    if (typeof ended !== 'string') throw ended;
    // As the daemon's daemon_stopped: the log, not stdout alone (silent under --json), says the server is gone and why.
    logger.info({ stopped_by: ended, requests_drained: stopped.requestsDrained, requests_cut: stopped.requestsCut, ...(serve.grpcUrl ? { grpc_calls_cut: stopped.grpcCallsCut, grpc_calls_drained: stopped.grpcCallsDrained } : {}) }, 'serve_stopped');
    this.say('Stopped');
    if (stopped.unwrittenRecords > 0 || stopped.unfinished.length > 0) throw unwrittenAtStop(stopped, settings.serve.shutdownWritesTimeoutMs, store.location);
    // Started with an IPC channel (a `flts bench` replica is a cluster worker), the open channel alone keeps the
    // process alive once the server has stopped, until its parent kills it.
    if (process.connected) process.disconnect();
    return { url: serve.url, grpcUrl: serve.grpcUrl, runId, stoppedBy: ended };
  }
}

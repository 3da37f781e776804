import { Flags } from '@oclif/core';
import { listenForStop, unlessStopped } from '../cli/stop-signals.js';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { createDaemonMetrics, servingListeners, startDaemon } from '../core/daemon/index.js';
import { FltsError } from '../core/errors.js';
import type { Settings } from '../core/config/settings.js';
import type { FltsEvent } from '../core/events.js';

export interface DaemonResult {
  /** The health and metrics server (/livez, /healthz, /readyz, /metrics, /status). */
  url: string;
  roles: string[];
  /** The serving role's inference API (flts serve's url); null without that role, or stopped before it listened. */
  servingUrl: string | null;
  /** The serving role's Open Inference Protocol gRPC service (flts serve's grpc_url); null when off. */
  grpcUrl: string | null;
  stoppedBy: string;
}

export default class Daemon extends FltsCommand<DaemonResult> {
  static override logsAsService = true;
  /** Its serving role answers requests in this process, as flts serve does, with the same young generation bound. */
  static override servesRequests = (settings: Settings): boolean => settings.daemon.roles.includes('serving');
  static override summary = 'Run the automatic pipeline: train on claims, promote the best model, keep serving replicas current.';
  static override description =
    'Roles (any combination): trainer (one consumer group per model type on training-data), promoter (group eval-promoter on model-training; promotes once every EXPECTED_MODEL_TYPES type has a SUCCESS run), serving (the inference API following model-selected), batch (forecasts for inference-data claims). Decisions come from the run registry and promotion history, so restarts and replayed messages never train or promote twice. Health on /healthz, /readyz, /metrics, /status. A store or broker that does not answer at startup is retried (1 s doubling to 30 s) until it does, /readyz meanwhile answering 503 with the reason; a broker or S3 store that refuses its credentials, certificate or permissions, a Kafka listener of another protocol, or brokers that refuse to create its topics as asked (FLTS_BUS_AUTH_FAILED, FLTS_BUS_TLS_FAILED, FLTS_BUS_ACCESS_DENIED, FLTS_BUS_PROTOCOL_MISMATCH, FLTS_BUS_TOPIC_REFUSED, FLTS_STORE_AUTH_FAILED, FLTS_STORE_TLS_FAILED, FLTS_STORE_ACCESS_DENIED) ends it at once with exit code 2, since settings are read only at startup and no wait could fix them. Needs a bus (FLTS_BUS=kafka or fs). Stops cleanly on SIGTERM/SIGINT (a second one cuts the requests the serving role still has in flight, a third ends the process at once). Says "Daemon listening on <url> (roles: <configured roles>)" on stdout as soon as the health server (/healthz, /readyz, /metrics, /status) listens (when it logs "daemon_listening"), before the roles start, "Roles started: <roles>" once they run (then, for the serving role, "serving: inference API on <url> (Open Inference Protocol gRPC on <grpc url>)", the gRPC part when on, as flts serve says its listeners) and "Stopped" once stopped; --json prints its one JSON document (url, roles, serving_url, grpc_url, stopped_by) on stdout only when the daemon stops (url empty only when it stopped before the health server listened, roles empty when it stopped before its roles started, serving_url and grpc_url null without the serving role or gRPC), so a script that needs the port of --port 0 meanwhile reads url from the log line with msg "daemon_listening" (the serving role logs its own "serve_listening"). Logs are JSON lines on stderr; a stop ends them with "daemon_stopped" (stopped_by: the signal).';
  static override examples = [
    'FLTS_BUS=kafka FLTS_STORE=s3 <%= config.bin %> <%= command.id %>',
    'FLTS_BUS=fs <%= config.bin %> <%= command.id %> --roles trainer --models LSTM,GRU --port 9101',
    'FLTS_BUS=fs FLTS_DAEMON_ROLES=promoter,serving <%= config.bin %> <%= command.id %>',
  ];

  static override flags = {
    roles: Flags.string({ description: 'Comma list of roles, each given once: trainer, promoter, serving, batch (env FLTS_DAEMON_ROLES, default trainer,promoter).' }),
    models: Flags.string({ description: 'Comma list of model types the trainer role trains, each given once, so only with it among the roles (env FLTS_TRAINER_MODELS, default LSTM,GRU,PROPHET).' }),
    port: Flags.string({ char: 'p', description: 'Port of the health and metrics server (env FLTS_DAEMON_PORT, default 9100; 0 = any free port); with the serving role, another than its serve.port and serve.grpcPort.' }),
    identifier: identifierFlag,
  };

  async run(): Promise<DaemonResult> {
    const { flags } = await this.parse(Daemon);
    const { settings } = this.loadSettings(flags, { identifier: flags.identifier, 'daemon.roles': flags.roles, 'daemon.trainerModels': flags.models, 'daemon.port': flags.port });
    // The trainer's alone: with no trainer among the roles it was accepted and never used.
    if (flags.models !== undefined && !settings.daemon.roles.includes('trainer')) {
      throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--models chooses what the trainer role trains, and the roles are ${settings.daemon.roles.join(',')}: add trainer to --roles (or FLTS_DAEMON_ROLES), or leave --models out.`, { details: { flag: 'models', roles: settings.daemon.roles } });
    }
    // Made before the bus, which reports its deliveries, crashes and broker connections to the daemon's /metrics.
    const metrics = createDaemonMetrics();
    const { store, bus, logger } = await this.dependencies(settings, { service: 'flts-daemon', busMetrics: metrics.bus });
    if (!bus) throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'bus.kind is "none": the daemon needs a message bus (FLTS_BUS=kafka or fs).', { details: { setting: 'bus.kind' } });
    // Listened for before startup: the daemon may wait a long time for the store or the broker, and a signal
    // then must end that wait rather than be ignored.
    const stop = listenForStop();
    // Known from the moment the health server listens: a stop before the roles started still reports where it was.
    let listeningUrl = '';
    // Said when it is logged (daemon_listening), not once the roles started: they may wait long for the store or the
    // broker, and the port of --port 0 and the reason /readyz gives are wanted meanwhile.
    const onEvent = (event: FltsEvent): void => {
      if (event.type !== 'daemon.listening') return;
      listeningUrl = event.url;
      // Worded as before the other listeners were named: scripts wait for "Daemon listening on <url> (roles: ".
      this.say(`Daemon listening on ${event.url} (roles: ${event.roles.join(', ')})`);
    };
    const daemon = await unlessStopped(startDaemon(settings, { store, bus, logger, metrics, onEvent, signal: stop.signal, hurried: stop.hurried, stoppedBy: stop.stoppedBy }), stop);
    if (!daemon) {
      const signal = await stop.stopped;
      this.say(`${signal}: stopped while starting`);
      return { url: listeningUrl, roles: [], servingUrl: null, grpcUrl: null, stoppedBy: signal };
    }
    const roles = daemon.roles().map((role) => role.name);
    this.say(`Roles started: ${roles.join(', ')}`);
    // Read now: the roles are gone once the daemon stopped, and --json reports them then.
    const listeners = servingListeners(daemon.roles());
    if (listeners.servingUrl) this.say(`serving: inference API on ${listeners.servingUrl}${listeners.grpcUrl ? ` (Open Inference Protocol gRPC on ${listeners.grpcUrl})` : ''}`);
    const signal = await stop.stopped;
    this.say(`${signal}: stopping`);
    const onHurried = (): void => this.say(`${stop.hurriedBy()}: cutting the requests still in flight (a third signal ends the process at once)`);
    if (stop.hurried.aborted) onHurried();
    else stop.hurried.addEventListener('abort', onHurried, { once: true });
    await daemon.stop().finally(() => stop.hurried.removeEventListener('abort', onHurried));
    this.say('Stopped');
    return { url: daemon.url, roles, ...listeners, stoppedBy: signal };
  }
}

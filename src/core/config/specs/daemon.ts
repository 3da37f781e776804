import type { SettingSpec } from './setting-spec.js';
import { TRAINABLE_MODEL_TYPES, type TrainableModelType } from './training.js';

/**
 * `flts daemon`: which roles run, which model types a trainer trains, what the promoter waits for, and
 * the timing of work leases (how a crashed trainer's run is recognised and taken over).
 */
export const DAEMON_SPECS: readonly SettingSpec[] = [
  { path: 'daemon.roles', type: 'list', default: ['trainer', 'promoter'], distinct: true, envCase: 'lower', env: ['FLTS_DAEMON_ROLES'], description: 'Roles this daemon runs (comma list, each named once, as the targets are): trainer, promoter, serving, batch.' },
  { path: 'daemon.trainerModels', type: 'list', default: ['LSTM', 'GRU', 'PROPHET'], distinct: true, choices: TRAINABLE_MODEL_TYPES, envCase: 'upper', env: ['FLTS_TRAINER_MODELS'], description: 'Model types the trainer role trains, each named once; one consumer group per type.' },
  { path: 'daemon.expectedModelTypes', type: 'list', default: ['GRU', 'LSTM', 'PROPHET'], distinct: true, envRepeatsDropped: true, choices: TRAINABLE_MODEL_TYPES, envCase: 'upper', env: ['EXPECTED_MODEL_TYPES'], description: 'The promoter promotes a config_hash once every one of these types has a SUCCESS run. Each named once: a repeat in EXPECTED_MODEL_TYPES, which the reference reads as a set, is dropped with a warning (settings_env_repeats_dropped); in a config file it is refused.' },
  { path: 'daemon.host', type: 'string', default: '127.0.0.1', envCase: 'trim', env: ['FLTS_DAEMON_HOST'], description: 'Interface of the daemon health and metrics HTTP server.' },
  { path: 'daemon.port', type: 'integer', default: 9100, min: 0, max: 65535, env: ['FLTS_DAEMON_PORT'], description: 'Port of /livez, /healthz, /readyz, /metrics and /status (0 = any free port).' },
  { path: 'daemon.heartbeatMs', type: 'integer', default: 5000, min: 50, max: 3_600_000, env: ['FLTS_DAEMON_HEARTBEAT_MS'], description: 'How often a work lease (a daemon trainer\'s, and the training claim of `flts train`) and every training run\'s heartbeat object are rewritten.' },
  { path: 'daemon.leaseStaleMs', type: 'integer', default: 30000, min: 200, max: 86_400_000, env: ['FLTS_DAEMON_LEASE_STALE_MS'], description: 'A lease (a training claim too) or a RUNNING run\'s heartbeat that a daemon or `flts train` has seen unchanged for this long, by its own clock (never the writer\'s timestamps), belongs to a dead process: the lease is taken over, its RUNNING run marked KILLED and retrained. A holder known gone is not waited for: a pid gone from this host, or an earlier instance of this container: restarted in place by the kubelet (`instance.podUid`, `instance.container`) or by Docker (`instance.idFile`).' },
  { path: 'daemon.resyncIntervalMs', type: 'integer', default: 300000, min: 0, max: 86_400_000, env: ['FLTS_DAEMON_RESYNC_INTERVAL_MS'], description: 'Besides messages and startup, roles re-check durable state this often (0 = never).' },
  { path: 'daemon.replicaId', type: 'string', default: '', envCase: 'trim', env: ['FLTS_REPLICA_ID'], description: 'Serving replica id, used in its own consumer group (serve-<id>); "" = <host>-<pid>.' },
];

export interface DaemonSettings {
  roles: string[];
  trainerModels: TrainableModelType[];
  expectedModelTypes: string[];
  host: string;
  port: number;
  heartbeatMs: number;
  leaseStaleMs: number;
  resyncIntervalMs: number;
  replicaId: string;
}

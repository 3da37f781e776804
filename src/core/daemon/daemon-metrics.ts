import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createBusMetrics, watchedBusMetrics, type ConsumerWatcher } from '../bus/bus-metrics.js';
import { isInvalidMessage } from '../bus/delivery.js';
import type { BusMetrics } from '../bus/message-bus.js';
import type { MirrorBacklogStatus } from './mirror-backlog.js';
import type { TrainingProgressStatus } from '../train/training-progress.js';
import { HTTP_CAP_CLOSES, type HttpCapClose } from '../serve/connection-cap.js';
import { createLiveRollbacksCounter, createLiveWorseKeptCounter, createLiveNoBaselineCounter } from '../serve/live-metrics.js';

/**
 * `failed`: the step's work failed (tried again, then dead-lettered); `invalid`: the message itself broke its topic's
 * contract (FLTS_BUS_MESSAGE_INVALID), so it was dead-lettered at once and no work was tried, in every role alike.
 */
export type StepResult = 'done' | 'skipped' | 'waiting' | 'failed' | 'aborted' | 'invalid';

export const STEP_RESULTS: readonly StepResult[] = ['done', 'skipped', 'waiting', 'failed', 'aborted', 'invalid'];

/** Decodes a role's message, counting one that breaks the topic's contract as an `invalid` step before the bus dead-letters it. */
export function decodeStepMessage<T>(metrics: Pick<DaemonMetrics, 'countStep'>, role: string, step: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (isInvalidMessage(error)) metrics.countStep(role, step, 'invalid');
    throw error;
  }
}

/** How an MLflow call is given up: no usable answer in its budget, or refused by the server. */
const TRACKING_FAILURE_CODES = ['FLTS_TRACKING_UNAVAILABLE', 'FLTS_TRACKING_REJECTED'] as const;

/** How a training run this daemon finished ended (RUNNING is never counted). */
const FINISHED_RUN_STATUSES = ['SUCCESS', 'FAILED', 'KILLED'] as const;

export interface CurrentWork {
  role: string;
  step: string;
  configHash: string;
  modelType: string;
  since: string;
}

/**
 * The daemon's Prometheus metrics, on a registry of its own. Lag gauges are filled at scrape time by
 * the health server; everything else is counted where the work happens.
 */
export interface DaemonMetrics {
  readonly registry: Registry;
  countStep(role: string, step: string, result: StepResult): void;
  /**
   * Creates a role's step series at 0 when it starts. A counter that appears at its first count is first scraped
   * at 1, and rate() or increase() see no increase in it: an alert would miss the first failure after a restart.
   */
  declareSteps(role: string, step: string, results: readonly StepResult[]): void;
  countTrainingRun(modelType: string, status: string): void;
  /** flts_training_runs_total at 0 for the model types this daemon trains, each with every status a finished run has. */
  declareTrainingRuns(modelTypes: readonly string[]): void;
  setLag(group: string, topic: string, partition: number, lag: number): void;
  /** A promotion this daemon rolled back after its live probation. */
  countLiveRollback(): void;
  /** A probation this daemon decided worse whose run stays in service (pinned, rollback off, previous run gone). */
  countLiveWorseKept(): void;
  /** A probation this daemon ended without a comparison: the previous run could not be loaded by the replicas. */
  countLiveNoBaseline(): void;
  /**
   * An MLflow call a role gave up on (its work went on without it: tracking never fails a step), by the code it
   * was given up with; a call left because the daemon stopped is not one.
   */
  countTrackingFailure(role: string, code: string): void;
  /** flts_daemon_tracking_failures_total at 0 for a role that talks to MLflow, with the codes a call ends with. */
  declareTrackingFailures(role: string): void;
  /**
   * A request the health port answered, by route, method and status: route `unmatched` for one refused before any
   * route (not HTTP, too slow, headers too large, a CONNECT, an Expect other than 100-continue, no such path), whose
   * method is unknown until a request line was read; status 499 for one whose client left before its answer.
   */
  countHttpRequest(route: string, method: string | undefined, status: number): void;
  /**
   * A connection the health port closed for serve.maxConnections: an idle keep-alive one to make room, else the one whose
   * request head had been arriving the longest (past a grace), or a new one refused (all held were busy).
   */
  countConnectionCapClose(what: HttpCapClose): void;
  /** What /readyz would answer now, per configured role: set at scrape time so alerts see a daemon that is up but not ready. */
  setReady(roles: readonly string[], ready: boolean): void;
  /**
   * Exports how far a role's MLflow mirroring is behind, read at each scrape: flts_daemon_tracking_unmirrored_runs and
   * flts_daemon_tracking_oldest_unmirrored_seconds (0 when none waits).
   */
  watchMirrorBacklog(role: string, status: () => MirrorBacklogStatus): void;
  /**
   * Exports the trainings under way, read at each scrape: flts_daemon_training_idle_seconds (since each one's last
   * progress) and flts_daemon_training_stalled_since_timestamp_seconds (when a stalled one last moved, which run).
   */
  watchTraining(status: () => readonly TrainingProgressStatus[]): void;
  /** Marks a step as in progress until the returned function is called. */
  beginWork(work: Omit<CurrentWork, 'since'>): () => void;
  currentWork(): CurrentWork[];
  /** For the bus (createMessageBus's `metrics`): its deliveries, consumer crashes and restarts, and broker connections. */
  readonly bus: BusMetrics;
  /** Tells `listener` of each crash of a consumer, and each end of a crash episode, the bus reports to `bus`; returns its removal. */
  watchConsumers(listener: ConsumerWatcher): () => void;
}

export function createDaemonMetrics(options: { processMetrics?: boolean } = {}): DaemonMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const steps = new Counter({ name: 'flts_daemon_steps_total', help: 'Reconcile steps by role, step and result.', labelNames: ['role', 'step', 'result'], registers: [registry] });
  const runs = new Counter({ name: 'flts_training_runs_total', help: 'Training runs finished by this daemon, by model type and status.', labelNames: ['model_type', 'status'], registers: [registry] });
  const lag = new Gauge({ name: 'flts_daemon_consumer_lag', help: 'Messages not yet committed, per consumer group and partition.', labelNames: ['group', 'topic', 'partition'], registers: [registry] });
  const working = new Gauge({ name: 'flts_daemon_current_work', help: '1 for each step in progress.', labelNames: ['role', 'step', 'config_hash', 'model_type'], registers: [registry] });
  const rollbacks = createLiveRollbacksCounter(registry);
  const worseKept = createLiveWorseKeptCounter(registry);
  const noBaseline = createLiveNoBaselineCounter(registry);
  const trackingFailures = new Counter({ name: 'flts_daemon_tracking_failures_total', help: 'MLflow calls given up by role and error code (the step went on without them).', labelNames: ['role', 'code'], registers: [registry] });
  const httpRequests = new Counter({
    name: 'flts_daemon_http_requests_total',
    help: 'Requests on the health port by route, method and status; route "unmatched" for those refused before any route (not HTTP, too slow, headers too large, CONNECT, an Expect other than 100-continue, no such path), status 499 for those whose client left before the answer.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const capCloses = new Counter({
    name: 'flts_daemon_http_connections_closed_at_cap_total',
    help: 'Health port connections closed for serve.maxConnections, by what: idle (a keep-alive connection with no request in flight, the longest idle, closed to admit a new one), slow (none idle: the connection whose request head had been arriving the longest, over 0.5 s, closed to admit a new one) or refused (a new one closed at once, every connection held having a request in flight or its head arriving for less than 0.5 s).',
    labelNames: ['what'],
    registers: [registry],
  });
  for (const what of HTTP_CAP_CLOSES) capCloses.inc({ what }, 0);
  const ready = new Gauge({ name: 'flts_daemon_ready', help: '1 while the daemon is ready (its roles started, the broker and the store answer), per configured role.', labelNames: ['role'], registers: [registry] });
  const backlogs = new Map<string, () => MirrorBacklogStatus>();
  new Gauge({
    name: 'flts_daemon_tracking_unmirrored_runs',
    help: 'Runs of the registry not yet mirrored to MLflow, as the last sync of this role left them, with those trained since (a daemon that mirrors, with tracking configured).',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      for (const [role, status] of backlogs) this.set({ role }, status().runs);
    },
  });
  new Gauge({
    name: 'flts_daemon_tracking_oldest_unmirrored_seconds',
    help: 'Seconds the oldest run not yet mirrored to MLflow has waited: since its run record\'s finished_at (the clock of the process that trained it, against this one\'s) where recorded, so a restart does not reset it; else since this process trained it or first found it unmirrored. 0 when none waits.',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      for (const [role, status] of backlogs) this.set({ role }, status().oldest_age_seconds ?? 0);
    },
  });
  let trainings: () => readonly TrainingProgressStatus[] = () => [];
  new Gauge({
    name: 'flts_daemon_training_idle_seconds',
    help: 'Seconds since the last progress (a batch, an epoch, a chunk of the forecasts after the fit) of each training under way, by model type; no series when none trains.',
    labelNames: ['model_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const training of trainings()) this.set({ model_type: training.model_type }, Math.round(training.idle_ms / 1000));
    },
  });
  new Gauge({
    name: 'flts_daemon_training_stalled_since_timestamp_seconds',
    help: 'Unix time (this process\'s clock) of the last progress of a training idle past training.stallTimeoutMs, by model type and run: the run that fails /livez with FLTS_TRAIN_STALLED, and since when; no series while every training moves.',
    labelNames: ['model_type', 'run_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const training of trainings()) if (training.stalled) this.set({ model_type: training.model_type, run_id: training.run_id }, Math.floor(Date.parse(training.last_progress_at) / 1000));
    },
  });
  const current = new Set<CurrentWork>();
  const { bus, watchConsumers } = watchedBusMetrics(createBusMetrics(registry));

  return {
    registry,
    countStep: (role, step, result) => steps.inc({ role, step, result }),
    declareSteps(role, step, results) {
      for (const result of results) steps.inc({ role, step, result }, 0);
    },
    countTrainingRun: (modelType, status) => runs.inc({ model_type: modelType, status }),
    declareTrainingRuns(modelTypes) {
      for (const modelType of modelTypes) for (const status of FINISHED_RUN_STATUSES) runs.inc({ model_type: modelType, status }, 0);
    },
    setLag: (group, topic, partition, value) => lag.set({ group, topic, partition: String(partition) }, value),
    countLiveRollback: () => rollbacks.inc(),
    countLiveWorseKept: () => worseKept.inc(),
    countLiveNoBaseline: () => noBaseline.inc(),
    countTrackingFailure: (role, code) => trackingFailures.inc({ role, code }),
    declareTrackingFailures(role) {
      for (const code of TRACKING_FAILURE_CODES) trackingFailures.inc({ role, code }, 0);
    },
    countHttpRequest: (route, method, status) => httpRequests.inc({ route, method: method ?? 'unknown', status: String(status) }),
    countConnectionCapClose: (what) => capCloses.inc({ what }),
    setReady(roles, isReady) {
      for (const role of roles) ready.set({ role }, isReady ? 1 : 0);
    },
    watchMirrorBacklog(role, status) {
      backlogs.set(role, status);
    },
    watchTraining(status) {
      trainings = status;
    },
    beginWork(work) {
      const entry: CurrentWork = { ...work, since: new Date().toISOString() };
      const labels = { role: work.role, step: work.step, config_hash: work.configHash, model_type: work.modelType };
      current.add(entry);
      working.inc(labels);
      return () => {
        if (!current.delete(entry)) return;
        working.dec(labels);
        if ([...current].every((w) => w.role !== work.role || w.step !== work.step || w.configHash !== work.configHash || w.modelType !== work.modelType)) working.remove(labels);
      };
    },
    currentWork: () => [...current],
    bus,
    watchConsumers,
  };
}

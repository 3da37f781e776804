import type { MessageBus } from '../bus/message-bus.js';
import { encodeTrainingEvent } from '../bus/messages.js';
import type { Settings } from '../config/settings.js';
import { TRAINABLE_MODEL_TYPES, type TrainableModelType } from '../config/specs/training.js';
import { usableCpus } from '../cpu-budget.js';
import { FltsError, toFltsError } from '../errors.js';
import { untilAbortedAs } from '../retry.js';
import { invalidArgument, optionalText, requireObject } from '../library-arguments.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { runExperiment, type RunRecord } from '../registry/run-record.js';
import type { GuardedTracking } from '../tracking/guard-tracking.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import { indexSuccessRuns, indexUnlistedRuns, listRunRecords, markDeadRunsKilled, removeOrphanHeartbeats, scanRunRecords } from '../registry/run-store.js';
import { trainRun, type TrainRunDeps } from '../train/train-run.js';
import { trainingRowsProblem } from '../train/training-rows.js';
import type { MonotonicClock } from '../registry/run-liveness.js';
import { syncRunsToTracking, type TrackingSyncResult } from './sync-runs-to-tracking.js';
import type { HeldLease } from '../registry/work-lease.js';
import type { EventSink } from '../events.js';
import { watchForStall } from '../train/training-progress.js';
import { claimTraining } from './train-claim.js';
import { clearToTrain, reportDeadRunKilled, type InProgressPolicy } from './train-in-progress.js';
import { currentRun } from '../registry/trained-data.js';

export interface TrainModelsRequest {
  models: readonly TrainableModelType[];
  /** Processed data version; the latest when omitted. */
  configHash?: string;
  /** Bucket of the processed data when it is not the configured one (a claim naming another bucket). */
  processedBucket?: string;
  /**
   * A model type another process is training on the same data: `refuse` it (FLTS_TRAIN_IN_PROGRESS, the default),
   * `wait` for that run to end, or `train` a second run anyway. Only that type is affected; the others train.
   * `refuse` and `wait` first take the type's training claim (train-claim.ts), `train` takes none.
   */
  inProgress?: InProgressPolicy;
  /**
   * Train only the model types with no SUCCESS run on this data (trainedOnData: the same processed content, not only
   * the same config_hash), as the daemon's trainer decides; the others are returned under `alreadyTrained`. Decided
   * under each type's training claim, so two such trainings started at once train a type once.
   */
  skipTrained?: boolean;
  /**
   * The new runs are left for the caller to mirror to MLflow (syncRunsToTracking) and `tracking` comes back disabled:
   * the daemon's trainer mirrors once it has released the model's lease and its serial queue, which a hanging
   * tracking server would otherwise hold for a whole call budget.
   */
  deferMirror?: boolean;
  /**
   * A training that makes no progress (a batch, an epoch, a chunk of its forecasts) for this long ends the call with
   * FLTS_TRAIN_STALLED, naming the run, while the stuck fit is left as it is: nothing in the process can end it, so the
   * caller ends the process (watchForStall). 0 or absent: no bound. The daemon's trainer is bounded by its /livez instead.
   */
  stallTimeoutMs?: number;
}

export interface TrainModelsDeps extends TrainRunDeps {
  /** When configured, each model's RUNNING, then SUCCESS or FAILED, goes out on `model-training` like the reference trainers'. */
  bus?: MessageBus;
  /** MLflow collaborators; mirroring is skipped without a tracking URI and never fails the training. */
  tracking?: TrackingDeps;
  /** Told each model's final status (SUCCESS, FAILED, KILLED), e.g. for metrics. */
  onRunFinished?: (modelType: TrainableModelType, status: string) => void;
  /** This process's monotonic clock, which alone decides when another process's run is dead (tests pin it). */
  monotonic?: MonotonicClock;
  /**
   * Sends a trained run's SUCCESS with `bus`, in place of `announceTrainedRun` (the daemon's trainer also records
   * which claims it answers); throws when the notice did not go out, as `announceTrainedRun` does.
   */
  announce?: (run: { modelType: string; configHash: string; runId: string }) => Promise<void>;
}

export interface TrainModelsResult {
  configHash: string;
  runs: RunRecord[];
  /** With `skipTrained`: the SUCCESS runs already trained on this data, one per model type not trained again. */
  alreadyTrained: RunRecord[];
  /** The MLflow mirror of the new runs: disabled without a tracking URI, unavailable when the server is down. */
  tracking: GuardedTracking<TrackingSyncResult>;
  /** The topic each new run's RUNNING and SUCCESS went out on; null without a bus or without a new run. */
  published: string | null;
}

/** The settings that read processed data from `processedBucket`: the configured bucket unless another is named. */
export function processedDataSettings(settings: Settings, processedBucket: string | undefined): Settings {
  if (!processedBucket || processedBucket === settings.store.buckets.processed) return settings;
  return { ...settings, store: { ...settings.store, buckets: { ...settings.store.buckets, processed: processedBucket } } };
}

async function trainOne(modelType: TrainableModelType, data: Awaited<ReturnType<typeof loadProcessedData>>, settings: Settings, deps: TrainModelsDeps): Promise<RunRecord> {
  const topic = settings.bus.topics.modelTraining;
  const event = { modelType, experiment: runExperiment(modelType), configHash: data.configHash };
  await deps.bus?.publish(topic, encodeTrainingEvent({ ...event, status: 'RUNNING' }));
  let record: RunRecord;
  try {
    record = await trainRun(modelType, data, settings, deps);
  } catch (error) {
    const flts = toFltsError(error);
    const status = typeof flts.details.status === 'string' ? flts.details.status : deps.signal?.aborted ? 'KILLED' : 'FAILED';
    deps.onRunFinished?.(modelType, status);
    if (status !== 'KILLED' && deps.bus) {
      const runId = typeof flts.details.runId === 'string' ? flts.details.runId : null;
      await deps.bus.publish(topic, encodeTrainingEvent({ ...event, status: 'FAILED', runId, error: `${flts.code}: ${flts.message}` })).catch((e: unknown) => deps.logger?.error({ err: e, model_type: modelType }, 'train_publish_failed_event_failed'));
    }
    throw flts;
  }
  deps.onRunFinished?.(modelType, 'SUCCESS');
  const trained = { modelType, configHash: data.configHash, runId: record.run_id };
  if (deps.bus) await (deps.announce ? deps.announce(trained) : announceTrainedRun(deps.bus, settings, trained));
  return record;
}

/** The `model-training` SUCCESS of a run (key `trained-<TYPE>`), also for announcing again one whose first notice was lost. */
export async function announceTrainedRun(bus: MessageBus, settings: Settings, run: { modelType: string; configHash: string; runId: string }): Promise<void> {
  await bus.publish(settings.bus.topics.modelTraining, encodeTrainingEvent({ status: 'SUCCESS', modelType: run.modelType, experiment: runExperiment(run.modelType), configHash: run.configHash, runId: run.runId }));
}

/**
 * Set in the details of the error `trainModels` refuses with when the processed data and settings cannot train any
 * model type asked for (before any run is recorded): a state of durable data, not a failure a retry could mend.
 */
export const UNTRAINABLE = 'untrainable';

/** One error for the model types refused before training (as a failure in training is rethrown): the first one's code, every message. */
function combinedRefusal(problems: readonly FltsError[], requested: number): FltsError {
  const [first] = problems;
  const message = problems.length === 1 ? first.message : `${problems.map((problem) => problem.message).join(' ')} (${problems.length} of ${requested} models not trained)`;
  return new FltsError(first.code, message, { cause: first, details: { ...first.details, refused: problems.map((problem) => problem.details), succeeded: [], [UNTRAINABLE]: true } });
}

/**
 * Model types trained at the same time: `training.parallelModels`, 0 = one per usable CPU (`cpus`: the cores, or the
 * container's CPU limit when lower); never more than there are types.
 */
export function modelsAtOnce(settings: Settings, types: number, cpus: () => number = usableCpus): number {
  const configured = settings.training.parallelModels || cpus();
  return Math.max(1, Math.min(types, configured));
}

/**
 * A request the types did not check (a JavaScript caller): each model type is trained under the name it is given and
 * recorded with it, so a type flts does not know would be recorded as a run of that type, and a string
 * ('NAIVE') trained as one model type per letter.
 */
function checkTrainRequest(request: TrainModelsRequest): void {
  requireObject('trainModels', 'request', request);
  const { models } = request as { models: unknown };
  if (!Array.isArray(models) || models.length === 0) throw invalidArgument('trainModels', 'request.models', `a non-empty array of model types (${TRAINABLE_MODEL_TYPES.join(', ')})`, models);
  const unknown = models.filter((type) => !TRAINABLE_MODEL_TYPES.includes(type as TrainableModelType));
  if (unknown.length > 0) {
    throw new FltsError('FLTS_MODEL_UNKNOWN_TYPE', `Unknown model type(s) ${unknown.map((type) => JSON.stringify(type)).join(', ')}; known: ${TRAINABLE_MODEL_TYPES.join(', ')}.`, { details: { unknown } });
  }
  optionalText('trainModels', 'request.configHash', request.configHash);
}

/**
 * The stop of a training during the reads it starts with: they record nothing, and a store that does not answer held
 * a stop until its time limit (store.s3.idleTimeoutMs), then ended it as unavailable rather than as stopped.
 */
function stoppedBeforeAnyRun(types: readonly string[]): FltsError {
  const them = types.length === 1 ? 'it' : 'them';
  return new FltsError('FLTS_TRAIN_ABORTED', `Training was stopped: ${types.join(', ')} never started (no run recorded for ${them}); finished: none.`, { details: { killed: [], notStarted: types, succeeded: [] } });
}

/**
 * A stop (Ctrl-C, SIGTERM) that cut the MLflow mirror short is a stop, not an MLflow outage: reported as one, it let
 * `flts train` end as if all were done (exit 0). The runs are complete in the registry; what is left is their mirror,
 * which the next sync takes (it mirrors every run without a complete one). A stop after the sync ended left nothing
 * undone, and none is reported.
 */
function mirrorStopped(runs: readonly RunRecord[], tracking: GuardedTracking<TrackingSyncResult>, failures: readonly FltsError[]): FltsError | undefined {
  if (tracking.status === 'disabled' || runs.length === 0) return undefined;
  const done = tracking.status === 'ok' ? new Set([...tracking.value.mirrored.map((mirror) => mirror.runId), ...tracking.value.found.map((found) => found.runId)]) : new Set<string>();
  const deferred = runs.filter((run) => !done.has(run.run_id));
  const backlogCut = tracking.status === 'ok' && (tracking.value.interrupted !== undefined || tracking.value.deferred.length > 0);
  if (deferred.length === 0 && !backlogCut) return undefined;
  const trained = runs.map((run) => `${run.model_type} run ${run.run_id}`).join(', ');
  const left = deferred.length > 0 ? `${deferred.length === runs.length ? (runs.length === 1 ? 'its' : 'their') : `${deferred.map((run) => run.model_type).join(', ')}'s`} MLflow mirror is left` : 'catching up older runs\' mirrors is left';
  const notTrained = failures.length > 0 ? ` Not trained: ${failures.length} model${failures.length === 1 ? '' : 's'} (${failures[0].code}).` : '';
  return new FltsError('FLTS_TRAIN_ABORTED', `Training was stopped while its runs were mirrored to MLflow: ${trained} ${runs.length === 1 ? 'is' : 'are'} complete here; ${left} to the next sync (the next \`flts train\`, or the daemon's trainer).${notTrained}`, {
    details: { killed: [], notStarted: [], succeeded: runs.map((run) => run.run_id), mirrorDeferred: deferred.map((run) => run.run_id), failed: failures.map((failure) => failure.code) },
  });
}

/**
 * Training, the same from the CLI, the daemon's trainer and the library: loads one processed data version,
 * trains each requested model as its own run (artifacts, metrics and intervals saved with it), announces each
 * on `model-training` when a bus is configured, then mirrors the new runs to MLflow. Up to
 * `training.parallelModels` models train at once, taken in the order requested; each model's own events keep
 * their order, and its results do not depend on what trains beside it. A model type another process is training on
 * the same data is refused, waited for, or trained anyway (`request.inProgress`): each type is trained under its
 * training claim, taken atomically before training starts and released once it ends (claimTraining), and the
 * RUNNING runs of processes that took none are judged as before (clearToTrain). A failed or
 * refused model does not stop the others (every outcome is recorded); the first failure in request order is
 * rethrown at the end. An abort starts no further model, waits for those in progress to stop, and is rethrown.
 */
export async function trainModels(request: TrainModelsRequest, settings: Settings, deps: TrainModelsDeps): Promise<TrainModelsResult> {
  checkTrainRequest(request);
  const readSettings = processedDataSettings(settings, request.processedBucket);
  const types = [...new Set(request.models)];
  const { data, registry, unrecorded } = await untilAbortedAs(
    (async () => {
      const data = await loadProcessedData(deps.store, readSettings, { configHash: request.configHash });
      // The one read of the whole registry a training makes: runs an older flts wrote get their index entries on the way.
      const { records, unrecorded } = await scanRunRecords(deps.store, settings);
      return { data, registry: records, unrecorded };
    })(),
    deps.signal,
    () => stoppedBeforeAnyRun(types),
  );
  await indexUnlistedRuns(deps.store, settings, registry);
  await indexSuccessRuns(deps.store, settings, registry);
  for (const run of await markDeadRunsKilled(deps.store, settings, new Date(), registry)) reportDeadRunKilled(run, deps);
  await removeOrphanHeartbeats(deps.store, settings, unrecorded);
  // Settings the data cannot carry are refused before any run is recorded: all at once when no type can train.
  const tooShort = new Map(types.flatMap((type) => {
    const problem = trainingRowsProblem(type, data, readSettings);
    return problem ? [[type, problem] as const] : [];
  }));
  if (tooShort.size === types.length) throw combinedRefusal([...tooShort.values()], types.length);
  for (const problem of tooShort.values()) deps.onEvent?.({ type: 'log', level: 'warn', message: `${problem.message} It is not trained.` });
  const lanes = modelsAtOnce(settings, types.length);
  // Side by side, a network's ONNX Runtime session runs on a worker thread: on this one it would hold the others up.
  const runDeps = lanes > 1 ? { ...deps, offThread: true } : deps;
  const outcomes: Array<{ run: RunRecord } | { current: RunRecord } | { failure: FltsError } | undefined> = new Array(types.length);
  const stallWatch = request.stallTimeoutMs ? watchForStall(request.stallTimeoutMs, deps.monotonic) : undefined;
  let next = 0;
  // Every model in training when the abort came is stopped: side by side, several runs end KILLED.
  const stoppedAt = new Map<number, FltsError>();
  const started = new Set<number>();
  const lane = async (): Promise<void> => {
    while (next < types.length && stoppedAt.size === 0 && !deps.signal?.aborted) {
      const index = next++;
      const target = { modelType: types[index], configHash: data.configHash };
      const policy = request.inProgress ?? 'refuse';
      const shortfall = tooShort.get(types[index]);
      if (shortfall) {
        started.add(index);
        outcomes[index] = { failure: shortfall };
        continue;
      }
      let claim: HeldLease | undefined;
      try {
        claim = await claimTraining(target, policy, settings, deps);
        // Under the claim, a RUNNING run is one trained without it (--allow-concurrent) or by a holder found dead.
        await clearToTrain(target, policy, settings, deps);
        started.add(index);
        const current = request.skipTrained ? currentRun(await listRunRecords(deps.store, settings, { configHash: data.configHash }), target.modelType, data.sidecar) : undefined;
        if (current) {
          outcomes[index] = { current };
          continue;
        }
        const onEvent: EventSink = (event) => {
          // The claim names its run, for whoever is refused or waits.
          if (event.type === 'train.start') claim?.attachRun(event.runId);
          stallWatch?.progress.observe(event, target);
          runDeps.onEvent?.(event);
        };
        outcomes[index] = { run: await trainOne(types[index], data, readSettings, { ...runDeps, onEvent }) };
      } catch (error) {
        const flts = toFltsError(error);
        if (flts.code === 'FLTS_TRAIN_ABORTED') stoppedAt.set(index, flts);
        else outcomes[index] = { failure: flts };
      } finally {
        stallWatch?.progress.done(target);
        await claim?.release();
      }
    }
  };
  const trained = Promise.all(Array.from({ length: lanes }, lane));
  try {
    const stalled = await Promise.race([trained.then(() => undefined), ...(stallWatch ? [stallWatch.stalled] : [])]);
    if (stalled) throw stalled;
  } finally {
    stallWatch?.stop();
  }
  const runs = outcomes.flatMap((outcome) => (outcome && 'run' in outcome ? [outcome.run] : []));
  const alreadyTrained = outcomes.flatMap((outcome) => (outcome && 'current' in outcome ? [outcome.current] : []));
  // A model may finish after the abort, another be stopped by it; the ones never started must not pass for trained.
  const notStarted = types.filter((_, index) => !started.has(index) && !outcomes[index]);
  // Named in request order, whichever lane saw the abort first.
  const stopped = [...stoppedAt].sort(([a], [b]) => a - b).map(([, error]) => error);
  if (stopped.length > 0 || notStarted.length > 0) {
    const finished = runs.map((run) => `${run.model_type} run ${run.run_id}`).join(', ') || 'none';
    const unstarted = notStarted.length > 0 ? `${notStarted.join(', ')} never started (no run recorded for ${notStarted.length === 1 ? 'it' : 'them'}); ` : '';
    const killed = stopped.flatMap((error) => (typeof error.details.runId === 'string' ? [error.details.runId] : []));
    const outcome = `${unstarted}finished: ${finished}.`;
    // After the stopped runs' own sentences, the outcome is a sentence of its own.
    const message = stopped.length > 0 ? `${stopped.map((error) => error.message).join(' ')} ${outcome[0].toUpperCase()}${outcome.slice(1)}` : `Training was stopped: ${outcome}`;
    throw new FltsError('FLTS_TRAIN_ABORTED', message, {
      cause: stopped[0],
      details: { ...stopped[0]?.details, killed, notStarted, succeeded: runs.map((run) => run.run_id) },
    });
  }
  const failures = outcomes.flatMap((outcome) => (outcome && 'failure' in outcome ? [outcome.failure] : []));
  const refused = failures.filter((failure) => failure.code === 'FLTS_TRAIN_IN_PROGRESS');
  // Mirrors to MLflow when a tracking URI is set; never throws, a dead server is only reported.
  const tracking: GuardedTracking<TrackingSyncResult> = request.deferMirror
    ? { status: 'disabled' }
    : await syncRunsToTracking(deps.store, settings, { runIds: runs.map((run) => run.run_id) }, { logger: deps.logger, signal: deps.signal, ...deps.tracking });
  if (deps.signal?.aborted) {
    const stopped = mirrorStopped(runs, tracking, failures);
    if (stopped) throw stopped;
  }
  if (failures.length > 0) {
    const first = failures[0];
    // Without it, a terminal showed the refusal alone, as if nothing had trained (the runs are in details.succeeded).
    const trained = runs.length > 0 ? ` Trained: ${runs.map((run) => `${run.model_type} run ${run.run_id}`).join(', ')}.` : '';
    throw new FltsError(first.code, `${failures.length === 1 ? first.message : `${first.message} (${failures.length} of ${types.length} models not trained)`}${trained}`, {
      cause: first,
      details: {
        ...first.details,
        succeeded: runs.map((r) => r.run_id),
        failed: failures.filter((f) => !refused.includes(f) && typeof f.details.runId === 'string').map((f) => f.details.runId),
        inProgress: refused.map((f) => f.details.inProgress),
      },
    });
  }
  return { configHash: data.configHash, runs, alreadyTrained, tracking, published: deps.bus && runs.length > 0 ? settings.bus.topics.modelTraining : null };
}

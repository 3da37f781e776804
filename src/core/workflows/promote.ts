import type { MessageBus } from '../bus/message-bus.js';
import { firstFew, singleLine } from '../clip-text.js';
import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable, toFltsError } from '../errors.js';
import { optionalBoolean, optionalText, requireChoice, requireObject, requireText } from '../library-arguments.js';
import { ignoreEvents, type EventSink } from '../events.js';
import { buildScoreboard, rowsOfTargets, runsOfTargets, sameTargetSet, SCORE_WEIGHTS, targetSetOf, type ScoreboardRow, testScore } from '../eval/scoreboard.js';
import { configHashesWithRuns, emptyRunsBucket, hashesWithRunsSaid, resolveEvalConfigHash, runsLookedFor } from '../eval/evaluate-runs.js';
import { silentLogger, type Logger } from '../logger.js';
import { ensureCandidateList, saveCandidateList, sweepCandidateLists } from '../registry/candidate-lists.js';
import { CANDIDATE_LIST_LIMIT, candidateFields, describeChoice, isAutomaticChoice, isPin, PROMOTION_SOURCES, promotionScope, readPointerAt, recordsSeenRuns, ROOT_POINTER, scopedPointerKey, type PromotionRecord, type PromotionSource, seenFields } from '../registry/pointers.js';
import { appendHistory, catchUpPointers, historyKey, listPromotionHistory, promotionTimestamp, syncPointers } from '../registry/promotion-history.js';
import type { RunRecord } from '../registry/run-record.js';
import { verifyRunRecordSeal } from '../registry/run-digests.js';
import { damagedRunsAside, findRunRecord, indexSuccessRuns, listSuccessRuns, readRunRecord, scanRunRecords, type RunRegistryScan, type SuccessRuns } from '../registry/run-store.js';
import { runsOnCurrentData } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import { caughtUpReason, publishPromotion, type PublishedPromotion } from './announce-promotion.js';
import { liveProbationOf, type LiveProbationStart } from './live-probation-start.js';
import { probationTermsFrom } from '../live/probation.js';
import { checkGate, leftOutOfGate, runProblems, type PromotionProblem } from './promotion-checks.js';
import type { PromotionMarker } from './mark-promoted.js';
import type { GuardedTracking } from '../tracking/guard-tracking.js';
import { trackPromotion } from './sync-runs-to-tracking.js';
import { validateCandidate, type CandidateCheck } from './validate-candidate.js';

export type { LiveProbationStart } from './live-probation-start.js';

/** What to promote and on whose behalf. Every entry point (CLI, TUI, daemon, library) builds one of these. */
export interface PromotionDecision {
  runId: string;
  source: PromotionSource;
  /** Who or what asked: an operator's name, `daemon:<owner>`, `library`. */
  actor: string;
  reason: string;
  /** Promote despite a failed quality gate or missing test windows; recorded. Never over a status other than SUCCESS, a missing artifact or non-finite forecasts. */
  force?: boolean;
  /** The SUCCESS runs a best-score choice was made from (recorded as `candidate_runs` while few, and `candidate_set`). */
  candidateRuns?: string[];
  /**
   * Pin the run (sources `manual` and `best` only) against automatic promotion of the same data and automatic
   * rollback: its promotion record says so itself (`pinned: true`), or, when the run is already in service, a record
   * with action `pin` does.
   */
  pin?: boolean;
}

export interface PromotionDeps {
  store: ObjectStore;
  /** When configured, the record is published on `model-selected` so every replica reloads at once. */
  bus?: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
  /** MLflow collaborators; marking is skipped without a tracking URI and never fails the promotion. */
  tracking?: TrackingDeps;
  now?: () => Date;
  /**
   * Runs each write to the promotion history and pointers (a record and the pointers after it, a catch-up of the
   * pointers): a caller that can be stopped refuses to start one once stopped and lets one that started finish, so a
   * stop leaves either nothing promoted or a history and pointers that agree.
   */
  uninterrupted?: <W>(write: () => Promise<W>) => Promise<W>;
  /**
   * The caller says a `model-selected` notice the bus did not take itself, from the result (`published.ok: false`),
   * to a person: promotion_publish_failed is then not logged as well, which printed the one failure twice. A daemon,
   * a program and a command writing --json or JSON log lines leave it unset and keep the log line.
   */
  saysPublishFailure?: boolean;
}

export interface PromotionResult {
  /**
   * Whether this call changed durable state: a history record written (a promotion, a rollback, a pin, or a
   * promotion with its pin) or this scope's pointers moved (finishing a promotion an earlier process left before
   * them). false when the run asked for was in service as asked (pinned already, when a pin was asked): nothing was
   * written, announced or marked, and `record` is the record that put it there. One meaning for every entry point.
   */
  changed: boolean;
  /**
   * Whether the run in service after this call stands pinned (`record` is the pin: a record with action `pin`, or a
   * promotion with `pinned: true`), kept against automatic promotion of the same data and automatic rollback while
   * its live probation goes on (scored and decided, never rolled back); whether this call pinned it is `changed`.
   * A pin of the run in service tells no replica to reload.
   */
  pinned: boolean;
  record: PromotionRecord;
  history_key: string;
  pointers: string[];
  gate: ScoreboardRow['gate'] | null;
  /** The candidate's check; null when --force skipped a check that could not run. */
  validation: CandidateCheck | null;
  /** null without a bus or with nothing to announce (a pin); otherwise whether `model-selected` was acknowledged (the pointers stay the source of truth). */
  published: PublishedPromotion | null;
  /**
   * `code` (FLTS_TRACKING_UNAVAILABLE, FLTS_TRACKING_REJECTED, ...) and `message` say why an unavailable mark was not
   * made; `hint`, which credentials MLflow refused (401, 403).
   */
  tracking: { status: string; code?: string; message?: string; hint?: string; marker?: PromotionMarker };
  /**
   * Present when the promoted run forecasts another set of targets than the run it replaced (as it may when named,
   * `promote --run`, or after `training.targets` changed): /predict now returns those columns, so clients reading the
   * old ones are to be told. Sorted target names; absent when the sets are the same or the previous run is unknown.
   */
  targets_changed?: TargetsChange;
  /**
   * The live probation this call started (a promotion that replaced another run, its record carrying the probation's
   * terms): serving replicas compare the new run with the previous one forecasting in shadow, and the deciding process
   * keeps it or, under its own FLTS_LIVE_ROLLBACK, rolls it back. null otherwise (a rollback, a first promotion,
   * nothing changed, a pin of the run in service whose probation goes on).
   */
  live_probation: LiveProbationStart | null;
  /**
   * The runs of the config_hash left out because their run.json is damaged (unreadable, or edited since training
   * sealed it), with the code serving would refuse them with: of a best-score choice (`promoteBest`: always, empty
   * when none was), or of the scoreboard the quality gate judged the run on (a promotion by name: present when one
   * was, and named in `gate.reason` too). Absent otherwise.
   */
  corrupt_runs?: RunRegistryScan['corrupt'];
}

export interface TargetsChange {
  previous_run_id: string;
  from: string[];
  to: string[];
}

function nowTimestamp(now: () => Date): string {
  const date = now();
  // Microseconds from the high-resolution clock make same-millisecond promotions sort correctly.
  const micros = Math.floor(((performance.timeOrigin + performance.now()) * 1000) % 1000);
  return promotionTimestamp(date, micros);
}

export interface PromotionRecordFields {
  source: PromotionSource;
  reason: string;
  action: 'promote' | 'rollback';
  previousRunId: string | null;
  actor?: string | null;
  forcedOver?: string[];
  candidateRuns?: string[];
  /** A person's choice or an automatic rollback: the SUCCESS runs the registry held as it was made (recorded as `seen_runs` while few, and `seen_set`). */
  seenRuns?: string[];
  /** The promotion is pinned by the request that made it (`PromotionDecision.pin`). */
  pinned?: boolean;
  now?: () => Date;
}

/** The reference promotion record (fields in the reference order) plus flts's source, previous run, reason, actor and data time. */
export function buildPromotionRecord(run: RunRecord, settings: Settings, fields: PromotionRecordFields): PromotionRecord {
  const m = run.metrics;
  return {
    identifier: settings.identifier,
    config_hash: run.config_hash,
    run_id: run.run_id,
    model_type: run.model_type,
    experiment: run.experiment,
    model_uri: `runs:/${run.run_id}/${run.model_type}`,
    rmse: m?.test_rmse ?? null,
    mae: m?.test_mae ?? null,
    mse: m?.test_mse ?? null,
    score: m ? testScore(m) : null,
    timestamp: nowTimestamp(fields.now ?? (() => new Date())),
    weights: { ...SCORE_WEIGHTS },
    source: fields.source,
    previous_run_id: fields.previousRunId,
    reason: fields.reason,
    action: fields.action,
    actor: fields.actor ?? null,
    data_created_at: run.data?.processed_created_at || null,
    ...candidateFields(fields.candidateRuns),
    ...seenFields(fields.seenRuns),
    forced: (fields.forcedOver?.length ?? 0) > 0,
    forced_over: fields.forcedOver ?? [],
    ...(fields.pinned ? { pinned: true } : {}),
    // A promotion that replaces a run starts a probation: its terms are fixed here, once, for every replica and decider.
    ...(fields.action === 'promote' && fields.previousRunId !== null && fields.previousRunId !== run.run_id ? { probation: probationTermsFrom(settings) } : {}),
  };
}

const CODE_BY_KIND = { status: 'FLTS_RUN_NOT_SUCCESSFUL', artifact: 'FLTS_MODEL_ARTIFACT_MISSING', gate: 'FLTS_EVAL_GATE_FAILED', validation: 'FLTS_PROMOTE_NO_TEST_WINDOWS' } as const;

function refusal(run: RunRecord, problems: PromotionProblem[], forceable = true): FltsError {
  const advice = forceable ? ' Pass --force to promote it anyway (recorded in the promotion record).' : ' Serving could not load it, so --force does not apply.';
  return new FltsError(CODE_BY_KIND[problems[0].kind], `Run ${run.run_id} (${run.model_type}) cannot be promoted: ${problems.map((p) => p.message).join('; ')}.${advice}`, {
    details: { runId: run.run_id, problems },
  });
}

const isRollback = (source: PromotionSource): boolean => source === 'rollback' || source === 'auto-rollback';

/** Loads and forecasts the candidate; a check that cannot run is a problem --force may override, non-finite output never is. */
async function checkCandidate(store: ObjectStore, settings: Settings, run: RunRecord, problems: PromotionProblem[]): Promise<CandidateCheck | null> {
  try {
    return await validateCandidate(store, settings, run);
  } catch (error) {
    if (error instanceof FltsError && error.code === 'FLTS_PROMOTE_NO_TEST_WINDOWS') {
      problems.push({ kind: 'validation', message: error.message });
      return null;
    }
    throw error;
  }
}

const pointerKeys = (settings: Settings): string[] => (settings.identifier ? [scopedPointerKey(settings)] : [scopedPointerKey(settings), ROOT_POINTER]);

/** Finishes a promotion an earlier process left before its pointers (pointers moved), as `promote` does first. */
async function catchUp(settings: Settings, deps: PromotionDeps): Promise<PromotionRecord | undefined> {
  const caughtUp = await catchUpPointers(deps.store, settings, writing(deps));
  if (caughtUp) (deps.logger ?? silentLogger).warn({ run_id: caughtUp.run_id, timestamp: caughtUp.timestamp, reason: caughtUpReason(caughtUp) }, 'promotion_pointers_caught_up');
  return caughtUp;
}

/**
 * Promoting the run in service changes nothing, whoever asks and whatever the reason or --force (but see
 * `pinInService`): a record naming itself as its previous run would start no probation but end the one under way,
 * reload every replica for nothing, and be a step a rollback has to skip. Only a promotion of it that an earlier
 * process left before its pointers is finished here (pointers moved, then announced: `changed`), as `promote`
 * would have done first.
 */
async function alreadyInService(current: PromotionRecord, settings: Settings, deps: PromotionDeps): Promise<PromotionResult> {
  const caughtUp = await catchUp(settings, deps);
  (deps.logger ?? silentLogger).info({ run_id: current.run_id, since: current.timestamp, source: current.source, pointers_caught_up: caughtUp !== undefined }, 'promotion_unchanged');
  return {
    changed: caughtUp !== undefined,
    pinned: isPin(current),
    record: current,
    history_key: `${settings.store.buckets.promotion}/${historyKey(current)}`,
    pointers: pointerKeys(settings),
    gate: null,
    validation: null,
    published: caughtUp ? await publishPromotion(caughtUp, settings, deps) : null,
    tracking: { status: 'unchanged' },
    // Pointers moved only now: replicas start the probation of that earlier promotion now.
    live_probation: caughtUp ? await liveProbationOf(caughtUp, settings, deps.store, deps.now?.()) : null,
  };
}

/**
 * The SUCCESS runs of the registry (every config_hash and target set) as a person's choice or an automatic rollback
 * is made (recordsSeenRuns), which its record keeps (`seen_runs`, `seen_set`): newer data of those runs alone was
 * there to choose, and the daemon's promoter lets the choice stand against it (auto-promote.ts). Read before the
 * record is written, so a run that finishes meanwhile counts as unseen, and the promoter decides on it as it would
 * have without them. Read from the SUCCESS index with the records it lacks (listSuccessRuns), not every record.
 * undefined for any other source, and when the registry cannot be read whole: the record then says nothing it saw,
 * as one of flts before, and the promoter applies the rule of those (logged, `promotion_seen_runs_unknown`).
 */
async function successRunsNow(store: ObjectStore, settings: Settings, source: PromotionSource, logger: Logger = silentLogger): Promise<SuccessRuns | undefined> {
  if (!recordsSeenRuns(source)) return undefined;
  try {
    return await listSuccessRuns(store, settings, CANDIDATE_LIST_LIMIT);
  } catch (error) {
    orUnlessUnavailable(undefined)(error);
    const { code, message } = toFltsError(error);
    logger.warn({ source, code, reason: message }, 'promotion_seen_runs_unknown');
    return undefined;
  }
}

/** The pin of `current` (the promotion of the run in service) on behalf of `decision`. */
function pinRecord(current: PromotionRecord, decision: PromotionDecision, reason: string, now: () => Date, seenRuns: string[] | undefined): PromotionRecord {
  // The reference fields of the run in service, in the reference order.
  const { identifier, config_hash, run_id, model_type, experiment, model_uri, rmse, mae, mse, score, weights } = current;
  return {
    identifier, config_hash, run_id, model_type, experiment, model_uri, rmse, mae, mse, score,
    timestamp: nowTimestamp(now),
    weights,
    source: decision.source,
    // The run before the pinned promotion: what a rollback returns to, and what its probation compares with.
    previous_run_id: current.previous_run_id,
    reason,
    action: 'pin',
    actor: singleLine(decision.actor),
    data_created_at: current.data_created_at ?? null,
    ...candidateFields(decision.candidateRuns),
    ...seenFields(seenRuns),
    forced: false,
    forced_over: [],
    // A rollback starts no probation: a pin naming it would have replicas start one with the run it rolled back from.
    // Its probation goes on under the terms it started with.
    ...(current.action === 'rollback' ? {} : { pinned_timestamp: current.timestamp, ...(current.probation ? { probation: current.probation } : {}) }),
  };
}

/**
 * Someone promoting the run the daemon promoted automatically, while it is in service, or pinning (`decision.pin`)
 * the run in service whoever promoted it: nothing to check or load,
 * but their choice is recorded (a history record with action `pin`, their source, actor and reason; pointers
 * moved to it), so automatic promotion of the same data no longer replaces the run. Replicas are not told
 * (`model-selected` would have a reference replica reload the run it serves), MLflow's mark already names the
 * run, and the probation of the pinned promotion goes on, decided but never rolled back. Should another promotion
 * have come in between, the pin put its run back in service and is announced and marked like any promotion.
 */
async function pinInService(current: PromotionRecord, decision: PromotionDecision, reason: string, settings: Settings, deps: PromotionDeps): Promise<PromotionResult> {
  const { store } = deps;
  const caughtUp = await catchUp(settings, deps);
  const seen = await successRunsNow(store, settings, decision.source, deps.logger);
  const seenRuns = seen?.runIds;
  await saveCandidateList(store, settings, decision.candidateRuns);
  await saveCandidateList(store, settings, seenRuns);
  const written = await writing(deps)(() => appendHistoryAndPointers(store, settings, pinRecord(current, decision, reason, deps.now ?? (() => new Date()), seenRuns)));
  const history = await listPromotionHistory(store, settings, promotionScope(settings));
  const overtaken = history[history.findIndex((record) => record.timestamp === written.timestamp && record.run_id === written.run_id) - 1]?.timestamp !== current.timestamp;
  (deps.onEvent ?? ignoreEvents)({ type: 'promote.pinned', runId: written.run_id, configHash: written.config_hash, modelType: written.model_type, source: decision.source, pinnedTimestamp: current.timestamp });
  (deps.logger ?? silentLogger).info({ run_id: written.run_id, source: decision.source, actor: decision.actor, pinned_timestamp: current.timestamp, overtaken }, 'promotion_pinned');
  const announce = overtaken ? written : caughtUp;
  const published = announce ? await publishPromotion(announce, settings, deps) : null;
  const tracking: PromotionResult['tracking'] = overtaken ? trackingOf(await trackPromotion(store, settings, written, { logger: deps.logger, ...deps.tracking })) : { status: 'unchanged' };
  await tidyCandidateLists(store, settings, [decision.candidateRuns, seenRuns], deps.logger);
  await indexSeenRuns(store, settings, seen, deps.logger);
  return {
    changed: true,
    pinned: true,
    record: written,
    history_key: `${settings.store.buckets.promotion}/${historyKey(written)}`,
    pointers: pointerKeys(settings),
    gate: null,
    validation: null,
    published,
    tracking,
    // The probation of the promotion pinned goes on (decided, never rolled back): none starts.
    live_probation: null,
  };
}

/**
 * Once a promotion record is written: the candidate list it names is put back if a sweep removed it meanwhile, and the
 * lists no record names any more are swept (`sweepCandidateLists` says why the two together are safe). The
 * promotion is whole whatever happens here: a failure is logged, never thrown.
 */
async function tidyCandidateLists(store: ObjectStore, settings: Settings, lists: ReadonlyArray<readonly string[] | undefined>, logger: Logger = silentLogger): Promise<void> {
  try {
    let putBack = false;
    for (const runIds of lists) putBack = (await ensureCandidateList(store, settings, runIds)) || putBack;
    const { removed, restored } = await sweepCandidateLists(store, settings);
    if (putBack || removed.length > 0 || restored.length > 0) logger.info({ put_back: putBack, removed, restored }, 'candidate_lists_swept');
  } catch (error) {
    logger.warn({ err: error }, 'candidate_lists_sweep_failed');
  }
}

/**
 * Once a promotion record is written: lists in the SUCCESS index the SUCCESS runs its seen runs were read for (runs of
 * an flts before the index), so that the next promotion need not read them. The promotion is whole whatever happens
 * here: a failure (a promoter that may not write the runs bucket) is logged, never thrown.
 */
async function indexSeenRuns(store: ObjectStore, settings: Settings, seen: SuccessRuns | undefined, logger: Logger = silentLogger): Promise<void> {
  if (!seen || seen.unindexed.length === 0) return;
  try {
    const listed = await indexSuccessRuns(store, settings, seen.unindexed);
    logger.info({ runs: listed.length }, 'success_runs_indexed');
  } catch (error) {
    logger.warn({ err: error, code: toFltsError(error).code }, 'success_runs_index_failed');
  }
}

function writing(deps: PromotionDeps): <W>(write: () => Promise<W>) => Promise<W> {
  return deps.uninterrupted ?? ((write) => write());
}

/** The record first, as what happened, then the pointers that follow it: one write for `uninterrupted`. */
async function appendHistoryAndPointers(store: ObjectStore, settings: Settings, record: PromotionRecord): Promise<PromotionRecord> {
  const written = await appendHistory(store, settings, record);
  await syncPointers(store, settings);
  return written;
}

function trackingOf(tracked: GuardedTracking<PromotionMarker>): PromotionResult['tracking'] {
  // The code as well as the message, as train's --json reports its mirror: a refusal (credentials, a registry that
  // says no) is told from a server that did not answer without parsing the text.
  if (tracked.status === 'unavailable') return { status: tracked.status, code: tracked.code, message: tracked.message, ...(tracked.hint ? { hint: tracked.hint } : {}) };
  return { status: tracked.status, ...(tracked.status === 'ok' ? { marker: tracked.value } : {}) };
}

/**
 * The one promotion: checks the run (SUCCESS, artifacts, quality gate unless it is a rollback), loads it and
 * forecasts its stored test windows (non-finite output is refused with FLTS_PROMOTE_CANDIDATE_INVALID), appends
 * the history record (source, actor, reason, previous run, config_hash, data time), moves this scope's pointers,
 * publishes `model-selected` when a bus is configured, and marks the run in MLflow when tracking is configured.
 * With `pin`, the promotion record is the pin too (`pinned: true`): one write, so no crash leaves it unpinned.
 * The run already in service (the scope's newest history record) is left as it is (`changed: false`), unless the
 * daemon put it there and someone else asks, or `pin` asks and it is not pinned yet: then it is pinned (`changed:
 * true`, `pinned: true`, see `pinInService`).
 */
export async function promote(decision: PromotionDecision, settings: Settings, deps: PromotionDeps): Promise<PromotionResult> {
  requireObject('promote', 'decision', decision);
  requireText('promote', 'decision.runId', decision.runId);
  // Whatever is recorded as the source decides what the record stands against: a source no entry point writes
  // would sit in the history as neither a person's choice nor the daemon's.
  requireChoice('promote', 'decision.source', decision.source, PROMOTION_SOURCES);
  requireText('promote', 'decision.actor', decision.actor);
  requireText('promote', 'decision.reason', decision.reason);
  optionalBoolean('promote', 'decision.force', decision.force);
  optionalBoolean('promote', 'decision.pin', decision.pin);
  const reason = singleLine(decision.reason).trim();
  if (!reason) throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'A promotion needs a reason.');
  if (decision.pin && decision.source !== 'manual' && decision.source !== 'best') {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `Only a person's promotion pins a run (source manual or best), not one with source ${decision.source}.`, { details: { source: decision.source } });
  }
  const { store } = deps;
  // The history, not the pointers, says what is in service: they lag behind it after an interrupted promotion.
  const inService = (await listPromotionHistory(store, settings, promotionScope(settings))).at(-1);
  if (inService?.run_id === decision.runId) {
    const pins = decision.pin ? !isPin(inService) : isAutomaticChoice(inService) && decision.source !== 'auto';
    if (!pins) return alreadyInService(inService, settings, deps);
    // A pin keeps the run against every automatic change: never one whose record was edited since training, which
    // serving refuses at its next load. A record gone or unreadable is the run in service's own business, as before.
    const pinned = await findRunRecord(store, settings, decision.runId).catch(orUnlessUnavailable(undefined));
    if (pinned) verifyRunRecordSeal(settings, pinned, deps.logger);
    return pinInService(inService, decision, reason, settings, deps);
  }
  const run = await readRunRecord(store, settings, decision.runId);
  // A record edited since training is refused before any check reads it (its metrics decide the gate), whatever
  // --force says: serving would refuse it, and the check of its forecasts may not run (processed data gone).
  verifyRunRecordSeal(settings, run, deps.logger);
  // Serving loads SUCCESS runs with every artifact and nothing else: no force makes another run servable.
  const unservable = await runProblems(store, settings, run);
  if (unservable.length > 0) throw refusal(run, unservable, false);
  const problems: PromotionProblem[] = [];
  const gateCheck = isRollback(decision.source) ? undefined : await checkGate(store, settings, run);
  const gateIssue = gateCheck?.problem;
  if (gateIssue) problems.push(gateIssue);
  const validation = await checkCandidate(store, settings, run, problems);
  if (problems.length > 0 && !decision.force) throw refusal(run, problems);

  // The history is what happened: a promotion whose process died before its pointers is completed first,
  // so this one replaces (and a rollback walks back from) what the history says is in service.
  await catchUp(settings, deps);
  const previous = await readPointerAt(store, settings, scopedPointerKey(settings));
  const targetsChanged = previous ? await targetsChange(store, settings, previous.run_id, run) : undefined;
  const seen = await successRunsNow(store, settings, decision.source, deps.logger);
  const seenRuns = seen?.runIds;
  const record = buildPromotionRecord(run, settings, {
    source: decision.source,
    actor: singleLine(decision.actor),
    reason,
    action: isRollback(decision.source) ? 'rollback' : 'promote',
    previousRunId: previous?.run_id ?? null,
    forcedOver: problems.map((p) => p.message),
    candidateRuns: decision.candidateRuns,
    seenRuns,
    pinned: decision.pin,
    now: deps.now,
  });
  await store.ensureBucket(settings.store.buckets.promotion);
  await saveCandidateList(store, settings, decision.candidateRuns);
  await saveCandidateList(store, settings, seenRuns);
  const written = await writing(deps)(() => appendHistoryAndPointers(store, settings, record));
  const pinned = isPin(written);
  (deps.onEvent ?? ignoreEvents)({ type: 'promote.done', runId: run.run_id, configHash: run.config_hash, modelType: run.model_type, source: decision.source, previousRunId: record.previous_run_id });
  if (pinned) (deps.onEvent ?? ignoreEvents)({ type: 'promote.pinned', runId: run.run_id, configHash: run.config_hash, modelType: run.model_type, source: decision.source, pinnedTimestamp: written.timestamp });
  (deps.logger ?? silentLogger).info({ run_id: run.run_id, config_hash: run.config_hash, source: decision.source, actor: decision.actor, previous_run_id: record.previous_run_id, pinned }, 'promotion_done');
  // Info, as promotion_done: the result says it (a command prints it as a warning), and a daemon logs at info.
  if (targetsChanged) (deps.logger ?? silentLogger).info({ run_id: run.run_id, ...targetsChanged }, 'promotion_targets_changed');

  const published = await publishPromotion(written, settings, deps);
  const tracked = await trackPromotion(store, settings, written, { logger: deps.logger, ...deps.tracking });
  await tidyCandidateLists(store, settings, [decision.candidateRuns, seenRuns], deps.logger);
  await indexSeenRuns(store, settings, seen, deps.logger);
  const leftOut = gateCheck?.corrupt_runs ?? [];
  const gate = gateIssue ? { passed: false, reason: gateIssue.message } : settings.eval.minImprovementPct === null || isRollback(decision.source) ? null : { passed: true, reason: `passes the quality gate${leftOutOfGate(leftOut)}` };
  return {
    changed: true,
    pinned,
    record: written,
    history_key: `${settings.store.buckets.promotion}/${historyKey(written)}`,
    pointers: pointerKeys(settings),
    gate,
    validation,
    published,
    tracking: trackingOf(tracked),
    ...(targetsChanged ? { targets_changed: targetsChanged } : {}),
    live_probation: await liveProbationOf(written, settings, store, deps.now?.()),
    ...(leftOut.length > 0 ? { corrupt_runs: leftOut } : {}),
  };
}

/** How `run`'s targets differ from those of the run it replaces, or undefined (same set, or that run's record unreadable). */
async function targetsChange(store: ObjectStore, settings: Settings, previousRunId: string, run: RunRecord): Promise<TargetsChange | undefined> {
  if (previousRunId === run.run_id) return undefined;
  const previous = await findRunRecord(store, settings, previousRunId).catch(orUnlessUnavailable(undefined));
  if (!previous || sameTargetSet(previous.window.targets, run.window.targets)) return undefined;
  return { previous_run_id: previousRunId, from: targetSetOf(previous.window.targets), to: targetSetOf(run.window.targets) };
}

export interface BestPromotionRequest {
  /** Processed data version; the latest when absent. */
  configHash?: string;
  /** `best` when someone asked, `auto` for the daemon's promoter. */
  source: Extract<PromotionSource, 'auto' | 'best'>;
  actor: string;
  reason?: string;
  force?: boolean;
  /** Pin the winner (see `PromotionDecision.pin`); `source: 'best'` only. */
  pin?: boolean;
}

/**
 * The row a best-score choice promotes among `rows` (the scoreboard's order, ties to the newest run): the run in
 * service when its score ties the first's. Swapping in another run of exactly the same score gains nothing and costs
 * a reload of every replica and a new probation. `promoteBest` and the daemon's decision to call it both choose so.
 */
export function bestChoice<R extends { run_id: string; score: number }>(rows: readonly R[], inServiceRunId: string | undefined): R | undefined {
  const first = rows[0];
  return (first && rows.find((row) => row.run_id === inServiceRunId && row.score === first.score)) ?? first;
}

/**
 * Promotes the scoreboard winner of a config_hash (the latest processed data's by default) among the runs of the
 * configured targets (`training.targets`, what the daemon trains) trained on the data it holds now
 * (runsOnCurrentData): new rows under the same file names keep the config_hash, and a run of the rows they replaced
 * was scored on other data. A run of other targets pools the errors of other columns and would change what /predict
 * returns: it is promoted by name (`promote`), never as a winner.
 */
export async function promoteBest(request: BestPromotionRequest, settings: Settings, deps: PromotionDeps): Promise<PromotionResult> {
  requireObject('promoteBest', 'request', request);
  requireChoice('promoteBest', 'request.source', request.source, ['auto', 'best'] as const);
  requireText('promoteBest', 'request.actor', request.actor);
  optionalText('promoteBest', 'request.configHash', request.configHash);
  optionalText('promoteBest', 'request.reason', request.reason);
  const hash = await resolveEvalConfigHash(deps.store, settings, request.configHash);
  const { records: recorded, corrupt } = await scanRunRecords(deps.store, settings, { configHash: hash });
  // A damaged record is no candidate, and never silently: an edited one would otherwise have ranked on its edit.
  if (corrupt.length > 0) (deps.logger ?? silentLogger).warn({ config_hash: hash, runs: corrupt.map(({ run_id, code }) => ({ run_id, code })) }, 'promotion_runs_left_out');
  const runs = await runsOnCurrentData(deps.store, settings, hash, recorded);
  const targets = settings.training.targets;
  const board = buildScoreboard(hash, runs, settings.eval.minImprovementPct, targets);
  const contenders = rowsOfTargets(board, targets);
  const winner = bestChoice(contenders, (await listPromotionHistory(deps.store, settings, promotionScope(settings))).at(-1)?.run_id);
  if (!winner) {
    const replaced = buildScoreboard(hash, runsOfTargets(recorded, targets)).rows.length;
    const others = (board.target_sets ?? []).map((set) => ({ targets: set.targets, runs: set.runs }));
    const why =
      replaced > 0
        ? ` on the rows it holds now (its ${replaced} SUCCESS run(s) of these targets are of rows that new data under the same file names replaced; \`flts train\` trains the new rows)`
        : others.length > 0
          ? ` (runs of other targets: ${others.map((set) => `${set.targets.join(',')} ${set.runs}`).join('; ')}; set TARGETS (training.targets) to choose among one of them, or promote a run by name)`
          : '';
    const empty = recorded.length === 0 && corrupt.length === 0 ? await emptyRunsBucket(deps.store, settings) : '';
    const looked = runsLookedFor(deps.store, settings);
    // Those --best could promote: runs of the configured targets.
    const hashes = empty ? [] : await configHashesWithRuns(deps.store, settings, hash, (runs) => runsOfTargets(runs, targets));
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No SUCCESS runs for config_hash ${hash} ${looked.where} with targets ${targets.join(',')}${why} to promote${empty}${damagedRunsAside(corrupt)}${hashesWithRunsSaid(hashes, 'flts promote --best --config-hash <hash>')}.`, {
      details: { configHash: hash, targets: [...targets], ...looked.details, ...(replaced > 0 ? { runsOfReplacedRows: replaced } : {}), ...(others.length > 0 ? { otherTargetSets: others } : {}), ...(hashes.length > 0 ? { configHashesWithRuns: hashes } : {}), corrupt_runs: corrupt },
    });
  }
  const reason = request.reason ?? `best score ${winner.score.toPrecision(6)} of ${contenders.length} run(s) of targets ${winner.targets.join(',')} for config_hash ${hash}`;
  const candidateRuns = runsOfTargets(runs, targets)
    .filter((run) => run.status === 'SUCCESS')
    .map((run) => run.run_id);
  const result = await promote({ runId: winner.run_id, source: request.source, actor: request.actor, reason, force: request.force, candidateRuns, pin: request.pin }, settings, deps);
  return { ...result, corrupt_runs: corrupt };
}

/**
 * The runs promoted in this scope as a stack: a promotion pushes its run, a rollback pops. The current run
 * is the top; rollback returns to the one below, so repeated rollbacks walk back through the history. A record of
 * the run already on top (a pin, or an older flts's re-promotion) pushes nothing.
 */
export function promotionStack(history: readonly PromotionRecord[]): PromotionRecord[] {
  const stack: PromotionRecord[] = [];
  for (const record of history) {
    if (record.action === 'rollback') {
      stack.pop();
      if (stack.at(-1)?.run_id !== record.run_id) stack.push(record);
    } else if (stack.at(-1)?.run_id !== record.run_id) stack.push(record);
  }
  return stack;
}

export interface RollbackRequest {
  /** `rollback` for an operator, `auto-rollback` for a live-accuracy check (refused over a pin: FLTS_PROMOTE_CHOSEN_RUN_STANDS). */
  source: Extract<PromotionSource, 'rollback' | 'auto-rollback'>;
  actor: string;
  reason?: string;
  force?: boolean;
  /**
   * The step back that was decided (a failed probation: from its run to the run it replaced). Refused with
   * FLTS_PROMOTE_ROLLBACK_STALE when the history no longer ends with it: a second decider finishing the same
   * rollback, or a promotion in between, would otherwise walk one run further back than anyone decided.
   */
  expected?: { fromRunId: string; toRunId: string };
}

/** Returns this scope to the run promoted before the current one, through `promote` (same checks, records and notices). */
export async function rollback(request: RollbackRequest, settings: Settings, deps: PromotionDeps): Promise<PromotionResult> {
  requireObject('rollback', 'request', request);
  requireChoice('rollback', 'request.source', request.source, ['rollback', 'auto-rollback'] as const);
  requireText('rollback', 'request.actor', request.actor);
  optionalText('rollback', 'request.reason', request.reason);
  const scope = promotionScope(settings);
  const history = await listPromotionHistory(deps.store, settings, scope);
  const stack = promotionStack(history);
  const current = stack.at(-1);
  const target = stack.at(-2);
  if (!current || !target) {
    // Other runs in the history while the stack holds one run were each rolled back to it. `--history` lists them
    // above the run in service, so without this a second rollback, expected to undo the first, reads as a contradiction.
    const rolledBack = current ? [...new Set(history.map((record) => record.run_id).filter((runId) => runId !== current.run_id))] : [];
    const later = rolledBack.length > 0 ? ` (the promotions of ${rolledBack.length === 1 ? 'run' : 'runs'} ${firstFew(rolledBack, 3)} in its history came after it and were rolled back; a rollback never steps forward)` : '';
    const state = current ? `nothing was promoted before run ${current.run_id}${later}` : 'nothing has been promoted in it';
    throw new FltsError('FLTS_PROMOTE_NOTHING_TO_ROLLBACK', `No earlier promotion in scope '${scope}' to return to: ${state}.`, {
      details: { scope, current: current?.run_id ?? null, ...(rolledBack.length > 0 ? { rolledBackRuns: rolledBack } : {}) },
    });
  }
  const { expected } = request;
  if (expected && (current.run_id !== expected.fromRunId || target.run_id !== expected.toRunId)) {
    throw new FltsError(
      'FLTS_PROMOTE_ROLLBACK_STALE',
      `Not rolled back: the history of scope '${scope}' now goes from run ${current.run_id} back to ${target.run_id}, not from ${expected.fromRunId} back to ${expected.toRunId} as decided.`,
      { details: { scope, current: current.run_id, target: target.run_id, expected } },
    );
  }
  const newest = history.at(-1)!;
  if (request.source === 'auto-rollback' && isPin(newest)) {
    throw new FltsError('FLTS_PROMOTE_CHOSEN_RUN_STANDS', `Not rolled back automatically: run ${current.run_id} of scope '${scope}' was ${describeChoice(newest)}, and only a person undoes a pin.`, { details: { scope, current: current.run_id, target: target.run_id, chosen: newest.timestamp } });
  }
  return promote({ runId: target.run_id, source: request.source, actor: request.actor, reason: request.reason ?? `rollback from run ${current.run_id}`, force: request.force }, settings, deps);
}

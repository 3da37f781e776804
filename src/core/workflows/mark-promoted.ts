import type { Settings } from '../config/settings.js';
import { FltsError, isFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import type { MlflowRun } from '../tracking/mlflow-types.js';
import { findMirroredRun, mirrorRun } from '../registry/mirror-run.js';
import { mirroredModelOf, planMirroredModel, readyLoggedModelOf, writeLoggedModel, writeMirroredModel, type MirroredModel } from '../registry/mirror-model.js';
import { MLFLOW_MODEL_TAGS } from '../registry/mlflow-model.js';
import { toRecord } from '../tracking/mlflow-types.js';
import { promotionScope } from '../registry/pointers.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import { filterLiteral, MIRROR_TAGS, type TrackingDeps } from '../tracking/tracking-deps.js';

/** The fields of a promotion record this needs (the reference's record carries them all). */
export interface PromotedRun {
  /** A flts run id, or the id of an MLflow run (e.g. one logged by a reference trainer). */
  readonly run_id: string;
  readonly model_type: string;
  readonly identifier?: string;
}

export type PromotionMarker =
  | { marker: 'alias'; mlflowRunId: string; registeredModel: string; version: string; alias: string }
  | { marker: 'tag'; mlflowRunId: string; tag: string; reason: string };

export const PROMOTED_TAG = 'promoted';
/** `flts.promoted.<scope>`: the scope a run tagged `promoted` is in service in, so that the next promotion there can untag it. */
const SCOPE_TAG_PREFIX = 'flts.promoted.';
/** Runs of a scope still tagged in service that one promotion untags; more means tags an operator copied by hand. */
const STALE_TAGS_LOOKED_UP = 50;

/** The scope's tag key, in the characters MLflow takes in one: an identifier may hold others (`cell:7`). */
export function promotedScopeTag(scope: string): string {
  return `${SCOPE_TAG_PREFIX}${scope.replace(/[^\w\-. ]/g, '_')}`;
}

/**
 * "" = one registered model per deployment identifier, like the promotion pointers' scopes. An identifier holding ":"
 * (`cell:7`) makes a name MLflow refuses, and the promotion falls back to the run tag: the name is left as it is, since
 * replacing the character would give two identifiers (`cell:7`, `cell_7`) one model and one alias.
 */
export function registeredModelName(settings: Settings, identifier?: string): string {
  return settings.tracking.registeredModel || `flts-${identifier || settings.identifier || 'global'}`;
}

function oldestFirst<T extends { readonly version: string }>(versions: readonly T[]): T[] {
  return [...versions].sort((a, b) => Number(a.version) - Number(b.version));
}

async function resolveRun(client: MlflowClient, store: ObjectStore | undefined, settings: Settings, runId: string, deps: TrackingDeps): Promise<MlflowRun> {
  const mirrored = await findMirroredRun(client, runId);
  if (mirrored) return mirrored;
  const direct = await client.getRun(runId);
  if (direct) return direct;
  if (store) {
    const { mlflowRunId } = await mirrorRun(store, settings, runId, { ...deps, client });
    const created = await client.getRun(mlflowRunId);
    if (created) return created;
  }
  throw new FltsError('FLTS_RUN_NOT_FOUND', `Run ${runId} is neither mirrored in MLflow (${client.uri}) nor an MLflow run id.`, { details: { runId } });
}

/**
 * The MLflow model of the mirror `run`, as its tags say; logged now into a mirror an flts before MLflow models wrote,
 * when its run is in `store`. Undefined for a run that is no flts mirror (a reference trainer's) or not in the store.
 */
async function mirroredModel(client: MlflowClient, store: ObjectStore | undefined, settings: Settings, run: MlflowRun, logger: Logger): Promise<MirroredModel | undefined> {
  const said = mirroredModelOf(run);
  if (said?.kind === 'none') return said;
  const runId = toRecord(run.data.tags)[MIRROR_TAGS.runId];
  if (said) {
    // A mirror written before MLflow 3's logged models (or on an older server since upgraded) gets its logged model now.
    const found = await readyLoggedModelOf(client, run);
    const modelId = found && (found.modelId ?? (await loggedModelFromStore(client, store, settings, run, runId, logger)));
    return modelId ? { ...said, modelId } : said;
  }
  if (!store || runId === undefined) return undefined;
  try {
    return await writeMirroredModel(client, run, await planMirroredModel(store, settings, runId), {}, logger);
  } catch (error) {
    if (isFltsError(error) && error.code === 'FLTS_RUN_NOT_FOUND') return undefined;
    throw error;
  }
}

/** The logged model of the ONNX export of `runId` in `store`, logged now from the mirror `run`; undefined when it cannot be. */
async function loggedModelFromStore(client: MlflowClient, store: ObjectStore | undefined, settings: Settings, run: MlflowRun, runId: string | undefined, logger: Logger): Promise<string | undefined> {
  if (!store || runId === undefined) return undefined;
  try {
    const plan = await planMirroredModel(store, settings, runId);
    return plan.kind === 'onnx' ? await writeLoggedModel(client, run, plan) : undefined;
  } catch (error) {
    if (!isFltsError(error) || (error.code !== 'FLTS_RUN_NOT_FOUND' && error.code !== 'FLTS_TRACKING_REJECTED')) throw error;
    if (error.code === 'FLTS_TRACKING_REJECTED') logger.warn({ mlflow_run_id: run.info.run_id, code: error.code, err: error.message }, 'mlflow_logged_model_refused');
    return undefined;
  }
}

/** Where a version of the run's model points, and what it says of it. */
function versionOf(run: MlflowRun, promotion: PromotedRun, model: MirroredModel | undefined): { source: string; sameModel?: string; modelId?: string; description?: string; tags: Array<{ key: string; value: string }> } {
  const root = run.info.artifact_uri ?? `runs:/${run.info.run_id}`;
  const tags = [{ key: 'flts.run_id', value: promotion.run_id }];
  if (model?.kind === 'onnx') {
    // Of the logged model when the server has them (its Models tab then lists the version); a version an flts before
    // them made at the run's model/ is the same model, kept rather than doubled.
    const inRun = `${root}/${model.artifactPath}`;
    return {
      ...(model.modelId ? { source: `models:/${model.modelId}`, modelId: model.modelId, sameModel: inRun } : { source: inRun }),
      description: `flts ${promotion.model_type} run ${promotion.run_id}: its ONNX export as an MLflow model (onnx and python_function flavours). mlflow.pyfunc.load_model(...).predict({"input": window}) takes a float32 window [batch, window, features] in original units and returns "forecast" in original units.`,
      tags: [...tags, { key: MLFLOW_MODEL_TAGS.model, value: 'onnx' }],
    };
  }
  // A run no flts mirror holds (a reference trainer's) is versioned at its model type's folder, as before, unlabelled.
  if (!model) return { source: `${root}/${promotion.model_type}`, tags };
  return {
    source: `${root}/${promotion.model_type}`,
    description: `flts ${promotion.model_type} run ${promotion.run_id}. ${model.reason}`,
    tags: [...tags, { key: MLFLOW_MODEL_TAGS.model, value: 'none' }, { key: MLFLOW_MODEL_TAGS.reason, value: model.reason.slice(0, 5000) }],
  };
}

/**
 * Takes the scope's tag off the runs it was in service before `current`, and `promoted` too off each that no other
 * scope keeps in service: as the alias moves, so does the tag, and `tags.promoted = 'true'` (the reference's inference
 * fallback) finds the runs in service rather than every run ever promoted. The new run is tagged first, so that some
 * run stays tagged throughout.
 */
async function untagReplaced(client: MlflowClient, scopeTag: string, current: string): Promise<void> {
  const experiments = await client.searchExperiments();
  if (experiments.length === 0) return;
  const tagged = await client.searchRuns({ experimentIds: experiments.map((e) => e.experiment_id), filter: `tags.\`${scopeTag}\` = 'true'`, maxResults: STALE_TAGS_LOOKED_UP });
  for (const run of tagged) {
    if (run.info.run_id === current) continue;
    await client.setTag(run.info.run_id, scopeTag, 'false');
    const inServiceElsewhere = (run.data.tags ?? []).some((tag) => tag.key !== scopeTag && tag.key.startsWith(SCOPE_TAG_PREFIX) && tag.value === 'true');
    if (!inServiceElsewhere) await client.setTag(run.info.run_id, PROMOTED_TAG, 'false');
  }
}

/**
 * Shows MLflow users which run is in service: the run's model becomes a version of the deployment's
 * registered model (created once per run) and the alias (`champion`) moves to it. A server without a
 * usable model registry gets the reference's run tag `promoted=true` instead, which moves like the alias (untagReplaced).
 */
export async function markPromoted(store: ObjectStore | undefined, settings: Settings, promotion: PromotedRun, deps: TrackingDeps = {}): Promise<PromotionMarker> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking', run_id: promotion.run_id });
  const client = trackingClientFor(settings, deps);
  const run = await resolveRun(client, store, settings, promotion.run_id, deps);
  const mlflowRunId = run.info.run_id;
  const name = registeredModelName(settings, promotion.identifier);
  const alias = settings.tracking.alias;
  // Outside the registry's try: a refused upload is no sign of a server without a model registry.
  const wanted = versionOf(run, promotion, await mirroredModel(client, store, settings, run, logger));
  let outcome: PromotionMarker;
  try {
    await client.getOrCreateRegisteredModel(name);
    // A version an earlier flts made of the run points at its flts files: the run gets one more, of its MLflow model.
    const versionsOfRun = async () =>
      oldestFirst((await client.searchModelVersions(`name=${filterLiteral(name)} and run_id=${filterLiteral(mlflowRunId)}`)).filter((found) => found.source === undefined || found.source === wanted.source || found.source === wanted.sameModel));
    let version = (await versionsOfRun())[0];
    if (!version) {
      const created = await client.createModelVersion({
        name,
        runId: mlflowRunId,
        source: wanted.source,
        tags: wanted.tags,
        ...(wanted.modelId ? { modelId: wanted.modelId } : {}),
        ...(wanted.description ? { description: wanted.description } : {}),
      });
      // Another mark of the same run (the daemon's promoter and its trainer's sync, two replicas) may have searched
      // and created beside this one: the oldest version stands and each marker removes only the one it created, so
      // the run keeps one version whoever finishes first.
      version = (await versionsOfRun())[0] ?? created;
      if (version.version !== created.version) {
        logger.info({ registered_model: name, version: version.version, removed: created.version }, 'mlflow_model_version_duplicate_removed');
        await client.deleteModelVersion(name, created.version);
      }
    }
    await client.setRegisteredModelAlias(name, alias, version.version);
    outcome = { marker: 'alias', mlflowRunId, registeredModel: name, version: version.version, alias };
  } catch (error) {
    // Only a refusal means "no registry here"; an unreachable server is reported to the caller.
    if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
    logger.warn({ err: error.message }, 'mlflow_registry_unavailable_tagging_run');
    const scopeTag = promotedScopeTag(promotion.identifier || promotionScope(settings));
    await client.setTag(mlflowRunId, scopeTag, 'true');
    await client.setTag(mlflowRunId, PROMOTED_TAG, 'true');
    await untagReplaced(client, scopeTag, mlflowRunId);
    outcome = { marker: 'tag', mlflowRunId, tag: PROMOTED_TAG, reason: error.message };
  }
  deps.onEvent?.({ type: 'tracking.promoted', runId: promotion.run_id, mlflowRunId, marker: outcome.marker });
  return outcome;
}

import { FltsError } from '../errors.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { PROCESSED_SHA256_TAG } from './mirror-source.js';

/**
 * MLflow in memory, as far as a sync asks it: experiments, runs with their tags and lifecycle, and the search filters
 * flts sends (tag equality, `IS NULL`, `attributes.run_id IN`, `attributes.start_time >=`, joined by AND). Counts the runs
 * each search returns.
 */
export class MemoryMlflow {
  /** `older`: a server that refuses `IS NULL`, `attributes.run_id IN` and start_time filters, as MLflow versions before them do. */
  constructor(private readonly grammar: 'current' | 'older' = 'current') {}

  readonly runs: MlflowRun[] = [];
  readonly searches: Array<{ filter?: string; viewType?: string; returned: number }> = [];
  readonly created: string[] = [];
  /**
   * Runs a page of a listing read page by page holds at most (MLflow's own is 1000), fewer when the search asks for
   * fewer: its tokens are offsets, as MLflow's are.
   */
  pageSize = 1000;
  /** Listings of the experiments asked for. */
  experimentListings = 0;
  private next = 0;

  /** A complete, finished mirror of flts run `runId`, tagged as flts writes it now unless `tags` says otherwise. */
  addMirror(runId: string, options: { start?: number; tags?: Record<string, string> } = {}): MlflowRun {
    const tags = { [MIRROR_TAGS.runId]: runId, [MIRROR_TAGS.complete]: 'true', [PROCESSED_SHA256_TAG]: 'f'.repeat(64), ...options.tags };
    const run: MlflowRun = {
      info: { run_id: `m${String(this.next++).padStart(6, '0')}`, experiment_id: '1', status: 'FINISHED', start_time: options.start ?? 0, lifecycle_stage: 'active' },
      data: { tags: Object.entries(tags).flatMap(([key, value]) => (value === '' ? [] : [{ key, value }])) },
    };
    this.runs.push(run);
    return run;
  }

  mirrorOf(runId: string): MlflowRun | undefined {
    return this.runs.find((run) => run.info.lifecycle_stage === 'active' && toRecord(run.data.tags)[MIRROR_TAGS.runId] === runId);
  }

  private matches(run: MlflowRun, filter: string | undefined): boolean {
    const tags = toRecord(run.data.tags);
    return (filter ?? '').split(' AND ').every((clause) => {
      if (clause === '') return true;
      const equal = /^tags\.`([^`]+)` = '([^']*)'$/.exec(clause);
      if (equal) return tags[equal[1]] === equal[2];
      const unset = this.grammar === 'current' && /^tags\.`([^`]+)` IS NULL$/.exec(clause);
      if (unset) return tags[unset[1]] === undefined;
      const among = this.grammar === 'current' && /^attributes\.run_id IN \((.*)\)$/.exec(clause);
      if (among) return among[1].split(', ').includes(`'${run.info.run_id}'`);
      const since = this.grammar === 'current' && /^attributes\.start_time >= (-?\d+)$/.exec(clause);
      if (since) return run.info.start_time !== undefined && Number(run.info.start_time) >= Number(since[1]);
      throw new FltsError('FLTS_TRACKING_REJECTED', `filter not understood: ${clause}`);
    });
  }

  readonly client = {
    searchExperiments: async () => {
      this.experimentListings += 1;
      return [{ experiment_id: '1', name: 'Default' }];
    },
    getOrCreateExperiment: async () => ({ experiment_id: '1', name: 'Default' }),
    searchRuns: async (input: { filter?: string; orderBy?: string[]; maxResults?: number; viewType?: string }) => {
      const stage = input.viewType === 'DELETED_ONLY' ? 'deleted' : 'active';
      const found = this.runs.filter((run) => this.matches(run, input.filter) && run.info.lifecycle_stage === stage);
      if (input.orderBy?.[0] === 'attributes.start_time DESC') found.sort((a, b) => Number(b.info.start_time) - Number(a.info.start_time));
      const returned = found.slice(0, input.maxResults ?? found.length);
      this.searches.push({ filter: input.filter, viewType: input.viewType, returned: returned.length });
      return structuredClone(returned);
    },
    createRun: async (input: { tags: Array<{ key: string; value: string }> }) => {
      const runId = toRecord(input.tags)[MIRROR_TAGS.runId];
      const run = this.addMirror(runId, { tags: { [MIRROR_TAGS.complete]: '', [PROCESSED_SHA256_TAG]: '' } });
      run.info.status = 'RUNNING';
      this.created.push(runId);
      return structuredClone(run);
    },
    searchRunsPage: async (input: { filter?: string; orderBy?: string[]; pageToken?: string; maxResults?: number }) => {
      const from = Number(input.pageToken ?? 0);
      const size = Math.min(this.pageSize, input.maxResults ?? this.pageSize);
      const found = this.runs.filter((run) => this.matches(run, input.filter) && run.info.lifecycle_stage === 'active');
      // MLflow orders runs of one start time by run id.
      if (input.orderBy?.[0] === 'attributes.start_time ASC') found.sort((a, b) => Number(a.info.start_time) - Number(b.info.start_time) || a.info.run_id.localeCompare(b.info.run_id));
      const returned = found.slice(from, from + size);
      this.searches.push({ filter: input.filter, returned: returned.length });
      return { runs: structuredClone(returned), nextPageToken: from + size < found.length ? String(from + size) : undefined };
    },
    getRun: async (id: string) => structuredClone(this.runs.find((run) => run.info.run_id === id)),
    logBatch: async (id: string, batch: { tags?: Array<{ key: string; value: string }> }) => {
      for (const tag of batch.tags ?? []) await this.client.setTag(id, tag.key, tag.value);
    },
    setTag: async (id: string, key: string, value: string) => {
      const run = this.runs.find((candidate) => candidate.info.run_id === id)!;
      run.data.tags = [...(run.data.tags ?? []).filter((tag) => tag.key !== key), { key, value }];
    },
    updateRun: async (id: string, update: { status: MlflowRun['info']['status'] }) => {
      this.runs.find((run) => run.info.run_id === id)!.info.status = update.status;
    },
    deleteRun: async (id: string) => {
      this.runs.find((run) => run.info.run_id === id)!.info.lifecycle_stage = 'deleted';
    },
    uploadArtifact: async () => undefined,
  } as unknown as MlflowClient;

  /** Runs the searches since `from` returned, all together. */
  runsReturnedSince(from: number): number {
    return this.searches.slice(from).reduce((sum, search) => sum + search.returned, 0);
  }
}

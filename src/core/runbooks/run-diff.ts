import { testScore } from '../eval/scoreboard.js';
import type { PromotionRecord } from '../registry/pointers.js';
import type { RunRecord } from '../registry/run-record.js';

export interface MetricDiff {
  name: 'score' | 'rmse' | 'mae' | 'mse' | 'r2';
  current: number | null;
  selected: number | null;
  /** selected - current (negative = lower error for rmse/mae/mse/score). */
  delta: number | null;
  delta_pct: number | null;
}

export interface ValueDiff {
  name: string;
  current: unknown;
  selected: unknown;
}

/** What changes for serving if `selected` replaces the promoted run. */
export interface RunDiff {
  selected_run_id: string;
  current_run_id: string | null;
  same_run: boolean;
  model_type: { current: string | null; selected: string; changed: boolean };
  config_hash: { current: string | null; selected: string; changed: boolean };
  metrics: MetricDiff[];
  /** Only the parameters (and window, seed) that differ. */
  params: ValueDiff[];
}

type Metrics = Record<MetricDiff['name'], number | null>;

function metricsOfRun(run: RunRecord): Metrics {
  const m = run.metrics;
  if (!m) return { score: null, rmse: null, mae: null, mse: null, r2: null };
  return { score: testScore(m), rmse: m.test_rmse, mae: m.test_mae, mse: m.test_mse, r2: m.test_r2 };
}

/** A pointer whose run is gone from the registry (reference F3) still carries its metrics. */
function metricsOfPointer(pointer: PromotionRecord): Metrics {
  return { score: pointer.score ?? null, rmse: pointer.rmse ?? null, mae: pointer.mae ?? null, mse: pointer.mse ?? null, r2: null };
}

function flatParams(run: RunRecord | undefined): Record<string, unknown> {
  if (!run) return {};
  const out: Record<string, unknown> = { ...run.params, seed: run.seed };
  for (const [key, value] of Object.entries(run.window)) out[`window.${key}`] = value;
  return out;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function diffRuns(selected: RunRecord, current: { pointer: PromotionRecord; run?: RunRecord } | undefined): RunDiff {
  const now = current?.run ? metricsOfRun(current.run) : current ? metricsOfPointer(current.pointer) : undefined;
  const next = metricsOfRun(selected);
  const metrics = (['score', 'rmse', 'mae', 'mse', 'r2'] as const).map((name): MetricDiff => {
    const a = now?.[name] ?? null;
    const b = next[name];
    const delta = a === null || b === null ? null : b - a;
    return { name, current: a, selected: b, delta, delta_pct: delta === null || a === 0 || a === null ? null : (delta / Math.abs(a)) * 100 };
  });
  const before = flatParams(current?.run);
  const after = flatParams(selected);
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const params = current?.run ? names.filter((name) => !same(before[name], after[name])).map((name) => ({ name, current: before[name] ?? null, selected: after[name] ?? null })) : [];
  const currentType = current?.run?.model_type ?? current?.pointer.model_type ?? null;
  const currentHash = current?.run?.config_hash ?? current?.pointer.config_hash ?? null;
  return {
    selected_run_id: selected.run_id,
    current_run_id: current?.pointer.run_id ?? null,
    same_run: current?.pointer.run_id === selected.run_id,
    model_type: { current: currentType, selected: selected.model_type, changed: currentType !== selected.model_type },
    config_hash: { current: currentHash, selected: selected.config_hash, changed: currentHash !== selected.config_hash },
    metrics,
    params,
  };
}

/**
 * The diff of the run in service with itself when its run.json is gone: what its promotion record says of it. Such a
 * run can still be named again (the promotion changes nothing, or pins it), as `flts promote --run` allows.
 */
export function sameRunDiff(pointer: PromotionRecord): RunDiff {
  const own = metricsOfPointer(pointer);
  return {
    selected_run_id: pointer.run_id,
    current_run_id: pointer.run_id,
    same_run: true,
    model_type: { current: pointer.model_type, selected: pointer.model_type, changed: false },
    config_hash: { current: pointer.config_hash, selected: pointer.config_hash, changed: false },
    metrics: (['score', 'rmse', 'mae', 'mse', 'r2'] as const).map((name): MetricDiff => ({ name, current: own[name], selected: own[name], delta: own[name] === null ? null : 0, delta_pct: own[name] === null || own[name] === 0 ? null : 0 })),
    params: [],
  };
}

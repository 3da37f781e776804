import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createDaemonMetrics } from '../../src/core/daemon/daemon-metrics.js';
import { createServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { CHART_DIR, COMPOSE_DIR } from './deploy-tools.js';

/** The alerting rules: the compose Prometheus loads the first, the chart's PrometheusRule is made from the second. */
export const RULE_FILES = { compose: join(COMPOSE_DIR, 'prometheus/rules/flts-alerts.yaml'), chart: join(CHART_DIR, 'rules/flts-alerts.yaml') };

/** Labels Prometheus gives every series of a target (compose's static and DNS targets; the Operator's ServiceMonitors). */
export const TARGET_LABELS = ['instance', 'job', 'namespace', 'pod', 'service', 'endpoint', 'container'];

/** The scrape job of each flts process, as the rules name it (compose's job names; the chart rewrites them). */
export const JOBS = { serve: 'flts-serve', daemon: 'flts-daemon' } as const;

export type Process = keyof typeof JOBS;

/** Series name -> label names. */
export type SeriesLabels = Map<string, string[]>;

/**
 * What `flts serve` and `flts daemon` each export on /metrics, series name -> label names, read from the registries the
 * servers build (a histogram as its _bucket, _sum and _count series), plus Prometheus's own `up` for either.
 */
export function exportedSeries(): Record<Process, SeriesLabels> {
  const read = (registry: ReturnType<typeof createServeMetrics>['registry']): SeriesLabels => {
    const series: SeriesLabels = new Map([['up', []]]);
    for (const metric of registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames: string[] }[]) {
      const names = metric.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => metric.name + suffix) : [metric.name];
      for (const name of names) series.set(name, [...metric.labelNames, ...(name.endsWith('_bucket') ? ['le'] : [])]);
    }
    return series;
  };
  return { serve: read(createServeMetrics({ processMetrics: false }).registry), daemon: read(createDaemonMetrics({ processMetrics: false }).registry) };
}

/** The routes `flts serve` forecasts on, as it labels them (their refusals are counted from 0): HTTP's and gRPC's ModelInfer. */
export async function forecastingRoutes(): Promise<string[]> {
  const refused = (await createServeMetrics({ processMetrics: false }).registry.getMetricsAsJSON()).find((m) => m.name === 'flts_forecast_refused_total')!;
  return [...new Set(refused.values.map((v) => String(v.labels.route)))];
}

/** Both processes' series in one map (a name both export, such as flts_live_rollbacks_total, has the same labels). */
export function allExportedSeries(): SeriesLabels {
  const { serve, daemon } = exportedSeries();
  return new Map([...serve, ...daemon]);
}

/** Every `flts_*` or `up` selector of a PromQL query: the series name and its matchers as {label, op, value}. */
export function selectors(query: string): { name: string; matchers: { label: string; op: string; value: string }[] }[] {
  return [...query.matchAll(/\b(flts_\w+|up)\b(?:\{([^}]*)\})?/g)].map(([, name, body]) => ({
    name,
    matchers: [...(body ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(([, label, op, value]) => ({ label, op, value })),
  }));
}

/** Label lists of the `by`, `without`, `on` and `ignoring` clauses of a query. */
function clauseLabels(query: string): { keyword: string; labels: string[] }[] {
  return [...query.matchAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)].map(([, keyword, list]) => ({
    keyword,
    labels: list.split(',').map((label) => label.trim()).filter(Boolean),
  }));
}

/**
 * What is wrong with a query against the series flts exports: a series nobody exports, or a label that a matcher,
 * a grouping clause or `label_values` names and the series does not carry. Empty when the query is sound.
 */
export function queryProblems(query: string, exported: SeriesLabels): string[] {
  const problems: string[] = [];
  const found = selectors(query);
  if (found.length === 0) problems.push(`no flts series in ${query}`);
  for (const { name, matchers } of found) {
    const own = exported.get(name);
    if (!own) {
      problems.push(`${name} is not exported (${query})`);
      continue;
    }
    const labels = [...own, ...TARGET_LABELS];
    for (const { label } of matchers) if (!labels.includes(label)) problems.push(`${name} has no label ${label} (${query})`);
    for (const { keyword, labels: list } of clauseLabels(query)) {
      for (const label of list) {
        // histogram_quantile reads le from the buckets it is given.
        if (label === 'le' && query.includes('histogram_quantile')) continue;
        if (!labels.includes(label)) problems.push(`${keyword} ${label}: ${name} has no such label (${query})`);
      }
    }
    const valuesOf = new RegExp(`label_values\\(${name},\\s*(\\w+)\\)`).exec(query);
    if (valuesOf && !labels.includes(valuesOf[1])) problems.push(`label_values(${name}, ${valuesOf[1]}): no such label`);
  }
  return problems;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
  [field: string]: unknown;
}

export function readRuleGroups(file: string): RuleGroup[] {
  return (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups;
}

/**
 * The labels an alert of this expression carries: with an aggregation, those every `by` clause keeps (the outer one
 * keeps no more than the others in these rules; le is consumed by histogram_quantile); without one, the series' own
 * labels and the target's.
 */
export function alertOutputLabels(expr: string, exported: SeriesLabels): string[] {
  const groupings = clauseLabels(expr).filter((c) => c.keyword === 'by').map((c) => c.labels.filter((label) => label !== 'le'));
  if (groupings.length > 0) return groupings.reduce((kept, list) => kept.filter((label) => list.includes(label)));
  return [...new Set([...selectors(expr).flatMap(({ name }) => exported.get(name) ?? []), ...TARGET_LABELS])];
}

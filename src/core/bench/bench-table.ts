import type { BenchCell, BenchReport } from './bench-types.js';

export const BENCH_COLUMNS = ['engine', 'replicas', 'connections', 'route', 'req/s', 'of ceiling', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'errors', 'server CPU %', 'busiest %', 'loadgen CPU %', 'server RSS MiB'] as const;

const fixed = (value: number, digits = 1): string => value.toFixed(digits);

function describeErrors(cell: BenchCell): string {
  if (cell.errors.total === 0) return '0';
  const parts = [
    ...Object.entries(cell.errors.non2xx).map(([status, count]) => `${count}x${status}`),
    ...(cell.errors.timeouts > 0 ? [`${cell.errors.timeouts} timeouts`] : []),
    ...Object.entries(cell.errors.connection).map(([code, count]) => `${count} ${code}`),
  ];
  return parts.join(' ');
}

/** The table's columns: BENCH_COLUMNS, led by `variant` when the run compares configurations. */
export function benchColumns(report: BenchReport): string[] {
  return report.matrix.variants ? ['variant', ...BENCH_COLUMNS] : [...BENCH_COLUMNS];
}

/** One text row per cell, in BENCH_COLUMNS order: the screen table and the Markdown file share it. */
export function benchRow(cell: BenchCell): string[] {
  return [
    cell.engine ?? '',
    cell.replicas === null ? 'target' : String(cell.replicas),
    String(cell.connections),
    cell.route,
    fixed(cell.requestsPerSec, 0),
    cell.fractionOfBaseline === null ? '' : `${fixed(cell.fractionOfBaseline * 100, 0)}%`,
    fixed(cell.latency.p50, 2),
    fixed(cell.latency.p90, 2),
    fixed(cell.latency.p99, 2),
    fixed(cell.latency.max, 1),
    String(cell.requests),
    describeErrors(cell),
    cell.cpu?.serversPercent != null ? String(cell.cpu.serversPercent) : '',
    cell.cpu?.busiestServerPercent != null ? String(cell.cpu.busiestServerPercent) : '',
    cell.cpu ? String(cell.cpu.loadGeneratorPercent) : '',
    cell.serverRssMiB === null ? '' : fixed(cell.serverRssMiB, 0),
  ];
}

export function benchRows(report: BenchReport): string[][] {
  return report.cells.map((cell) => (report.matrix.variants ? [cell.variant ?? '', ...benchRow(cell)] : benchRow(cell)));
}

const CSV_HEADER = [
  'phase', 'replicas', 'connections', 'route', 'duration_s', 'requests', 'requests_per_s', 'fraction_of_baseline', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'mean_ms',
  'errors_total', 'errors_non2xx', 'errors_timeouts', 'errors_connection', 'server_cpu_pct', 'busiest_server_cpu_pct', 'loadgen_cpu_pct', 'machine_cpu_pct', 'variant', 'engine', 'server_rss_mib', 'protocol',
];

const csvField = (value: unknown): string => {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function benchCsv(report: BenchReport): string {
  const lines = [CSV_HEADER.join(',')];
  for (const cell of report.cells) {
    lines.push(
      [
        cell.phase, cell.replicas ?? 'target', cell.connections, cell.route, cell.durationSec, cell.requests, cell.requestsPerSec, cell.fractionOfBaseline,
        cell.latency.p50, cell.latency.p90, cell.latency.p99, cell.latency.max, cell.latency.mean,
        cell.errors.total, JSON.stringify(cell.errors.non2xx), cell.errors.timeouts, JSON.stringify(cell.errors.connection),
        cell.cpu?.serversPercent, cell.cpu?.busiestServerPercent, cell.cpu?.loadGeneratorPercent, cell.cpu?.machinePercent, cell.variant, cell.engine, cell.serverRssMiB, cell.protocol,
      ].map(csvField).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function benchMarkdown(report: BenchReport): string {
  const m = report.machine;
  const columns = benchColumns(report);
  const header = `| ${columns.join(' | ')} |`;
  const rule = `|${columns.map(() => '---').join('|')}|`;
  const rows = benchRows(report).map((row) => `| ${row.join(' | ')} |`);
  return [
    `# flts bench ${report.startedAt}`,
    '',
    `- Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}; load average ${m.loadAverageStart.map((v) => v.toFixed(2)).join(' ')} at start, ${m.loadAverageEnd.map((v) => v.toFixed(2)).join(' ')} at end.`,
    `- Served: ${report.target ? `existing service ${report.target}` : `flts serve replicas behind Node cluster (round robin), with live scoring and prediction records off (FLTS_LIVE_SCORING=false, FLTS_SERVE_PREDICTION_LOG=false, unless --compare sets them): the synthetic load neither feeds the home's live probation nor joins its prediction logs`}; run ${report.runId ?? '?'} (${report.modelType ?? '?'}), served to the Open Inference Protocol as model '${report.modelName}'.`,
    `- Load: autocannon (HTTP; gRPC: one @grpc/grpc-js channel per connection), keep-alive connections, one request in flight each; protocols ${report.matrix.protocols.join(', ')}; bodies of ${report.payload.rowsPerRequest} raw rows (${report.payload.distinctBodies} distinct, ~${report.payload.meanBytes} B) from ${report.payload.source}; ${report.matrix.durationSec} s per cell, baseline (GET /healthz, the HTTP ceiling; gRPC ServerLive, the gRPC ceiling) ${report.matrix.baselineDurationSec} s, warm-up ${report.matrix.warmupSec} s.`,
    `- Request rows: cut from ${report.payload.source}, ${report.payload.why}.${report.payload.hint ? ` ${report.payload.hint}` : ''}`,
    '- Latency: HDR histogram of 2xx response times at microsecond resolution. of ceiling: req/s as a share of the baseline of the same transport, replicas and connections (GET /healthz for POST /predict and the Open Inference Protocol HTTP route, gRPC ServerLive for gRPC ModelInfer). CPU: mean percent of one core from /proc over the cell: server CPU % = all replicas together (200 = two cores), busiest % = the busiest replica alone (both blank for --target, whose processes are not known here), loadgen CPU % = this bench process, which generates the load. Engine: the forward-pass engine the replicas report on /readyz (FLTS_SERVE_ENGINE). RSS: the largest server process at the end of the cell.',
    '',
    header,
    rule,
    ...rows,
    '',
  ].join('\n');
}

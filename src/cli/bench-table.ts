import { BENCH_COLUMNS, benchRows } from '../core/bench/bench-table.js';
import type { BenchReport } from '../core/bench/bench-types.js';

/** The bench report as an aligned text table (numbers right-aligned). */
export function renderBenchTable(report: BenchReport): string {
  const rows = [BENCH_COLUMNS.map(String), ...benchRows(report)];
  const widths = BENCH_COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const leftAligned = new Set([2, 10]);
  const line = (row: string[]): string => row.map((cell, c) => (leftAligned.has(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

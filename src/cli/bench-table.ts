import { benchColumns, benchRows } from '../core/bench/bench-table.js';
import type { BenchReport } from '../core/bench/bench-types.js';

/** The bench report as an aligned text table (numbers right-aligned). */
export function renderBenchTable(report: BenchReport): string {
  const columns = benchColumns(report);
  const rows = [columns, ...benchRows(report)];
  const widths = columns.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const shift = columns.length - 14;
  const leftAligned = new Set(shift > 0 ? [0, 2 + shift, 10 + shift] : [2, 10]);
  const line = (row: string[]): string => row.map((cell, c) => (leftAligned.has(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

import path from 'node:path';
import { renderBenchChart } from './bench-chart.js';
import { benchCsv, benchMarkdown } from './bench-table.js';
import type { BenchFiles, BenchReport } from './bench-types.js';
import { makeDirectory } from '../make-directory.js';
import { writeFileWhole } from '../write-file-whole.js';

/** Writes bench.csv, bench.md, bench.json and bench.svg into `dir` (created if needed), each whole or not at all. */
export async function writeBenchFiles(report: BenchReport, dir: string): Promise<BenchFiles> {
  await makeDirectory(dir);
  const files: BenchFiles = {
    dir,
    csv: path.join(dir, 'bench.csv'),
    markdown: path.join(dir, 'bench.md'),
    json: path.join(dir, 'bench.json'),
    svg: path.join(dir, 'bench.svg'),
  };
  await writeFileWhole(files.csv, benchCsv(report));
  await writeFileWhole(files.markdown, benchMarkdown(report));
  await writeFileWhole(files.svg, renderBenchChart(report));
  await writeFileWhole(files.json, `${JSON.stringify({ ...report, files }, null, 2)}\n`);
  return files;
}

import { constants } from 'node:fs';
import { access, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FltsError } from '../errors.js';
import { renderBenchChart } from './bench-chart.js';
import { benchCsv, benchMarkdown } from './bench-table.js';
import type { BenchFiles, BenchReport } from './bench-types.js';
import { makeDirectory } from '../make-directory.js';
import { snakeCaseKeys } from '../snake-case-keys.js';
import { writeFileWhole, type WriteFileWholeOptions } from '../write-file-whole.js';

/**
 * Creates the output directory and checks it can be written before any load: a --out that names a file, or a
 * directory that cannot be made or written, found only when the files are written loses the whole run. Returns
 * what removes the directories made here while they are still empty, so a run that fails leaves none behind.
 */
export async function prepareBenchDir(dir: string): Promise<() => Promise<void>> {
  const missing: string[] = [];
  for (let level = path.resolve(dir); !(await stat(level).then(() => true, () => false)); level = path.dirname(level)) missing.push(level);
  const created = new Set(missing);
  // Two runs started in the same millisecond share the default directory, which the one that fails removes: made
  // again when it vanishes before the check.
  for (let attempt = 1; ; attempt++) {
    for (const level of await makeDirectory(dir)) created.add(level);
    const refusal = await access(dir, constants.W_OK).then(() => undefined, (error: NodeJS.ErrnoException) => error);
    if (!refusal) break;
    if (refusal.code === 'ENOENT' && attempt < 3) continue;
    throw new FltsError('FLTS_PATH_UNUSABLE', `Cannot write into ${dir} (${refusal.code}).`, { cause: refusal, details: { path: dir } });
  }
  // With those made again after another run removed them under this one: levels of one path, longest deepest.
  const made = [...created].sort((a, b) => b.length - a.length);
  // Deepest first; rmdir refuses a directory with anything in it, and then its parents keep it.
  return async () => {
    for (const level of made) if (!(await rmdir(level).then(() => true, () => false))) return;
  };
}

/**
 * A directory of the run's own under `parent`, named `name` or, when another run holds that one, `name-2`, `name-3`...:
 * the default bench-results/<start time>/, which two runs started in the same millisecond shared, each overwriting
 * the other's files. Made at once, so no later run takes it either; `remove` drops it, and the parents made for it,
 * while empty.
 */
export async function claimBenchDir(parent: string, name: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  let removeParent = await prepareBenchDir(parent);
  for (let n = 1, vanished = 0; ; ) {
    const dir = path.join(parent, n === 1 ? name : `${name}-${n}`);
    const refusal = await mkdir(dir).then(() => undefined, (error: NodeJS.ErrnoException) => error);
    if (refusal?.code === 'EEXIST') {
      n++;
      continue;
    }
    // The parent removed under this run by one that failed, as prepareBenchDir allows for: made again.
    if (refusal?.code === 'ENOENT' && vanished++ < 3) {
      removeParent = await prepareBenchDir(parent);
      continue;
    }
    if (!refusal) {
      return {
        dir,
        remove: async () => {
          if (await rmdir(dir).then(() => true, () => false)) await removeParent();
        },
      };
    }
    await removeParent();
    throw new FltsError('FLTS_PATH_UNUSABLE', `Cannot create directory ${dir} (${refusal.code}).`, { cause: refusal, details: { path: dir } });
  }
}

/** The report files writeBenchFiles writes into its directory. */
const REPORT_FILES = ['bench.csv', 'bench.md', 'bench.json', 'bench.svg'] as const;

/**
 * Refuses a directory that holds the report of an earlier run (a regular file by one of REPORT_FILES' names, through a
 * link too), before any load: a measurement cannot be made again under the same conditions, and replacing it without
 * a word lost it, after a whole run. Refused rather than written beside it under other names, so that `<dir>/bench.json`
 * is always the report of the run that wrote into it last, never an older one left where a script reads it. A named
 * pipe or a device there is a reader waiting for this run's report, not an earlier one.
 */
export async function refuseEarlierReport(dir: string): Promise<void> {
  const found: string[] = [];
  for (const name of REPORT_FILES) {
    const file = path.join(dir, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) found.push(file);
  }
  if (found.length === 0) return;
  throw new FltsError('FLTS_BENCH_REPORT_EXISTS', `--out ${dir} holds the report of an earlier run (${found.join(', ')}), which this run would replace; nothing was run.`, {
    details: { path: dir, files: found },
  });
}

export interface BenchFilesOptions extends WriteFileWholeOptions {
  /** Replace the report of an earlier run (--force); otherwise a report file already there is refused. */
  replace?: boolean;
}

/**
 * Writes bench.csv, bench.md, bench.json and bench.svg into `dir` (created if needed), each whole or not at all. A stop
 * (`options.signal`) while one of them, a named pipe, waits for its reader ends the run with FLTS_BENCH_ABORTED naming
 * the files written and those not: every cell was measured by then, and without it the stop was held for the minute.
 * Unless `options.replace`, each file is placed only where none is (refuseEarlierReport ran before the load, minutes
 * earlier): of two runs given the same --out at once, both passed that check and the later write replaced the other's
 * report. Written in the same order by every run, the first file decides: the second run is refused there, with
 * FLTS_BENCH_REPORT_EXISTS, and a report file that appeared meanwhile under another name takes back this run's files.
 */
export async function writeBenchFiles(report: BenchReport, dir: string, options: BenchFilesOptions = {}): Promise<BenchFiles> {
  await makeDirectory(dir);
  const [csv, markdown, json, svg] = REPORT_FILES.map((name) => path.join(dir, name));
  const files: BenchFiles = { dir, csv, markdown, json, svg };
  const writes: Array<[string, () => string]> = [
    [files.csv, () => benchCsv(report)],
    [files.markdown, () => benchMarkdown(report)],
    [files.svg, () => renderBenchChart(report)],
    // The fields of `flts bench --json` and of bench.csv, snake_case: one report, one field style wherever it is read.
    [files.json, () => `${JSON.stringify(snakeCaseKeys({ ...report, files }), null, 2)}\n`],
  ];
  const { replace, ...writeOptions } = options;
  // The files this run put in place, not a named pipe or device written as it is (a reader's, to be left there).
  const placed: string[] = [];
  for (const [i, [file, body]] of writes.entries()) {
    try {
      const reader = await stat(file).then((info) => !info.isFile(), () => false);
      await writeFileWhole(file, body(), { ...writeOptions, exclusive: !replace });
      if (!reader) placed.push(file);
    } catch (error) {
      if (options.signal?.aborted && error === options.signal.reason) throw stoppedWriting(report, file, writes.slice(0, i).map(([done]) => done), writes.slice(i).map(([left]) => left));
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw await writtenMeanwhile(dir, file, placed);
      throw error;
    }
  }
  return files;
}

/** Another run's report file found where this run was placing its own: this run's files so far removed, so neither report is mixed. */
async function writtenMeanwhile(dir: string, file: string, placed: string[]): Promise<FltsError> {
  for (const mine of placed) await rm(mine, { force: true });
  return new FltsError('FLTS_BENCH_REPORT_EXISTS', `--out ${dir} got the report of another run while this one measured (${file}), which this run would replace; this run's report was not written.`, {
    details: { path: dir, files: [file] },
  });
}

function stoppedWriting(report: BenchReport, waiting: string, written: string[], notWritten: string[]): FltsError {
  const n = report.cells.length;
  const wrote = written.length > 0 ? `it wrote ${written.join(', ')}; not ${notWritten.join(', ')}` : `no result file was written (${notWritten.join(', ')})`;
  return new FltsError('FLTS_BENCH_ABORTED', `Benchmark stopped while ${waiting}, a named pipe, waited for its reader, after all ${n} cell${n === 1 ? ' was' : 's were'} measured: ${wrote}.`, {
    details: { measured_cells: n, waiting_for_reader: waiting, written, not_written: notWritten },
    hint: `${written.length > 0 ? 'The report is only in the files written' : 'The measurements were not kept'}: run the benchmark again with a reader on ${waiting}, or with an --out without named pipes.`,
  });
}

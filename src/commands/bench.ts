import path from 'node:path';
import { Flags } from '@oclif/core';
import { createBenchProgress, payloadFileLines } from '../cli/bench-progress.js';
import { drawsBars } from '../cli/progress.js';
import { renderBenchTable } from '../cli/bench-table.js';
import { FltsCommand } from '../cli/base-command.js';
import { refuseOutputInStore } from '../cli/output-over-input.js';
import { abortOnSignals } from '../cli/stop-signals.js';
import { usableCpus } from '../core/cpu-budget.js';
import { FltsError } from '../core/errors.js';
import { untilAbortedAs } from '../core/retry.js';
import type { BenchReport } from '../core/bench/bench-types.js';
import { assertDataToCutFrom, benchPayloadFile, dataNamedBy, readBenchPayloadFile } from '../core/bench/payload-file.js';
import { DEFAULT_PAYLOAD_ROWS, servedRunWindow } from '../core/bench/payload-window.js';
import { checkGrpcTarget, MAX_REPLICAS, parseCompareFlag, parseCountList, parseDurationSeconds, parseEngineList, parseProtocolList, parseReplicaList, parseTargetUrl, REPLICAS_PER_CPU } from '../core/bench/parse-matrix.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { runBench, type BenchData } from '../core/bench/run-bench.js';
import { targetRunWindow } from '../core/bench/target-run.js';

export default class Bench extends FltsCommand<BenchReport> {
  static override summary = 'Load-test POST /predict (and the Open Inference Protocol over HTTP and gRPC) across replica and connection counts, against the transport ceiling.';
  static override description =
    'Starts N `flts serve` processes as Node cluster workers sharing one port (the primary hands connections out round robin: no proxy hop per request, which on a 2-core machine would cost the CPU the replicas need), waits until every replica has loaded its model and /readyz answers, then drives each HTTP cell with autocannon: GET /healthz (the baseline ceiling of the HTTP stack) and POST /predict with raw rows cut from the test file of the data settings (TEST_FILE, else <name>_test.csv of --dataset or DATASET_NAME; when none is set, the test file the served run was trained with (with --target, the run the service names on GET /healthz, read from the store; a run the store does not hold is refused, asking for the data), else PobleSec_test.csv, said so; looked for in FLTS_DATA_DIR, else the working directory and then the example data; an FLTS_DATA_DIR that does not exist or holds no file is refused before the registry is read), from slices without an empty cell; which file, and why that one, is said as the run starts and in the report. A file named up front (--dataset, DATASET_NAME, TEST_FILE) is read before the registry is, and a file without the served run\'s columns is refused before any replica starts. Reports req/s, p50/p90/p99/max latency (HDR histogram, microsecond resolution), errors by kind and server CPU and memory (/proc; not for a --target), and writes bench.csv, bench.md, bench.json and bench.svg to --out (default: a new bench-results/<start time>/); an --out holding an earlier run\'s report is refused before any load (FLTS_BENCH_REPORT_EXISTS, exit 5) unless --force. Progress: a line per cell (a live bar on a terminal); under --json, whose stdout holds the report alone, info log lines on stderr (bench_replicas_starting, bench_replicas_ready, bench_cell_started, bench_cell_done; --log-level warn silences them). --protocol http,oip-http,oip-grpc measures /predict, the Open Inference Protocol JSON route and its gRPC ModelInfer (raw tensors, as tritonclient sends them) side by side in every cell, each gRPC connection its own HTTP/2 channel, against gRPC ServerLive as the gRPC ceiling. The replicas run with live scoring and prediction records off (FLTS_LIVE_SCORING=false, FLTS_SERVE_PREDICTION_LOG=false, whatever the environment or config file says): the load is synthetic, and scored live it would feed the probation of the home\'s promotion. A --compare that turns either back on is refused (FLTS_USAGE_INVALID_FLAG) before any replica starts; measure them with --target against a flts serve of a home of its own.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --replicas 1,2,4,8 --connections 16,64,256 --duration 30s',
    '<%= config.bin %> <%= command.id %> --run <run_id> --dataset example --replicas 1 --connections 64 --duration 10s',
    '<%= config.bin %> <%= command.id %> --engine onnx,wasm --replicas 1 --connections 64 --duration 20s',
    '<%= config.bin %> <%= command.id %> --target http://127.0.0.1:8000 --connections 64',
    '<%= config.bin %> <%= command.id %> --replicas 1 --connections 16,64 --compare FLTS_SERVE_INFERENCE_THREAD=true,false',
    '<%= config.bin %> <%= command.id %> --protocol http,oip-http,oip-grpc --replicas 1 --connections 16',
  ];

  // oclif's generated usage line renders the overlapping exclusive flags as '[--engine <value> | --compare <value> | ]'.
  static override usage = [
    FltsCommand.usageWithGlobalFlags('<%= command.id %> [--replicas <value>] [--connections <value>] [--duration <value>] [--baseline-duration <value>] [--warmup <value>] [--run <value>] [--engine <value> | --compare <value>] [--protocol <value>] [--payload-rows <value>] [--payload-layout spread|consecutive] [--out <value> [--force]] [--dataset <value>] [--json]'),
    FltsCommand.usageWithGlobalFlags('<%= command.id %> --target <value> [--connections <value>] [--duration <value>] [--baseline-duration <value>] [--warmup <value>] [--protocol <value>] [--grpc-target <value>] [--payload-rows <value>] [--payload-layout spread|consecutive] [--out <value> [--force]] [--dataset <value>] [--json]'),
  ];

  static override flags = {
    replicas: Flags.string({ description: `Comma-separated replica counts, each given once, from 1 to ${REPLICAS_PER_CPU} per usable CPU (the cores, or the container's CPU limit when lower; at least 8, at most ${MAX_REPLICAS}); not with --target.`, default: '1,2,4,8', exclusive: ['target'] }),
    connections: Flags.string({ description: 'Comma-separated concurrent connection counts, each from 1 to 4096 and given once.', default: '16,64,256' }),
    duration: Flags.string({ description: 'Load per measured cell: POST /predict, and each other --protocol\'s call (30s, 500ms, 2m).', default: '30s' }),
    'baseline-duration': Flags.string({ description: 'Load per baseline cell (GET /healthz; gRPC ServerLive with oip-grpc); default min(5s, --duration).' }),
    warmup: Flags.string({ description: 'Unrecorded load on each --protocol\'s call, at the largest --connections, before each replica group\'s first cell (0 = none).', default: '2s' }),
    run: Flags.string({ description: 'Serve this run (default: the promoted run).', exclusive: ['target'] }),
    // A running service is measured as it is: the flags that shape the replicas bench would start do not apply.
    target: Flags.string({ description: 'Benchmark this running service instead of starting replicas (not with --replicas, --run, --engine or --compare).', exclusive: ['replicas', 'run', 'engine', 'compare'] }),
    protocol: Flags.string({ description: 'Comma-separated: http (POST /predict), oip-http (Open Inference Protocol JSON), oip-grpc (Open Inference Protocol gRPC).', default: 'http' }),
    'grpc-target': Flags.string({ description: 'host:port of the --target service\'s gRPC port (for --protocol oip-grpc).' }),
    'payload-rows': Flags.integer({ description: `Raw rows per request body [default: ${DEFAULT_PAYLOAD_ROWS}, or the served run's input window when longer].`, min: 2 }),
    engine: Flags.string({ description: 'Compare forward-pass engines in one run: onnx,wasm starts each replica group once per engine (FLTS_SERVE_ENGINE).', exclusive: ['compare', 'target'] }),
    'payload-layout': Flags.string({
      description: 'spread = bodies from offsets across the whole file; consecutive = one row apart, so later requests bring the actuals of earlier forecasts (live scoring matches them).',
      options: ['spread', 'consecutive'],
      default: 'spread',
    }),
    compare: Flags.string({ description: 'Compare configurations in one run: NAME=value1,value2 (two or more values) starts each replica group once per value of that environment variable (e.g. FLTS_SERVE_INFERENCE_THREAD=true,false). The replicas run with live scoring and prediction records off: a FLTS_LIVE_SCORING or FLTS_SERVE_PREDICTION_LOG value that turns either on is refused, as it would write the synthetic load into the home\'s live probation or prediction logs.', exclusive: ['target'] }),
    out: Flags.string({ description: 'Output directory (default bench-results/<start time>/, or <start time>-2/... when another run has that one). One holding the report of an earlier run (bench.csv, bench.md, bench.json or bench.svg) is refused before any load (FLTS_BENCH_REPORT_EXISTS), unless --force; of two runs given the same --out at once, the one that writes second is refused the same way, its report not written.' }),
    force: Flags.boolean({ description: 'Replace the report of an earlier run in --out (only with --out).', default: false }),
    dataset: Flags.string({ description: 'Dataset whose <name>_test.csv the request rows are cut from (env DATASET_NAME; default: the data the served run was trained with, with --target the run the service says it serves).' }),
  };

  async run(): Promise<BenchReport> {
    const { flags } = await this.parse(Bench);
    refuseEmptyFlags({ run: flags.run, out: flags.out, engine: flags.engine, compare: flags.compare, 'baseline-duration': flags['baseline-duration'], 'grpc-target': flags['grpc-target'] });
    refuseEmptyFlags({ dataset: flags.dataset }, 'a dataset name');
    // Without --out each run writes a directory of its own, with nothing in it to replace: a --force there was meant
    // for a directory the run will not write into.
    if (flags.force && flags.out === undefined) throw new FltsError('FLTS_USAGE_INVALID_FLAG', '--force replaces the report of an earlier run in --out, and no --out is given: without one, each run writes a new bench-results/<start time>/. Give --out, or leave --force out.', { details: { flag: 'force' } });
    const resolved = this.loadSettings(flags, { 'data.datasetName': flags.dataset });
    const { settings } = resolved;
    await refuseOutputInStore({ flag: 'out', file: flags.out }, settings, 'folder');
    const durationSec = parseDurationSeconds(flags.duration, 'duration');
    const warmup = parseDurationSeconds(flags.warmup, 'warmup', { allowZero: true });
    const serveArgs = ['serve', '--port', '0', '--host', '127.0.0.1', '--home', settings.home, '--log-level', 'info', ...(flags.config ? ['--config', flags.config] : []), ...(flags.run ? ['--run', flags.run] : [])];
    const variants = flags.engine ? parseEngineList(flags.engine) : flags.compare ? parseCompareFlag(flags.compare) : undefined;
    const progress = this.progress(settings, () => createBenchProgress({ tty: drawsBars(process.stderr, process.env), say: (line) => this.say(line) }));
    // Ctrl-C, or SIGTERM (a CI job's timeout, docker stop): the replicas are stopped and the coded stop said either way.
    const abort = abortOnSignals();
    try {
      // Every flag is checked before the registry is read or the target asked anything: a wrong flag is named as such,
      // with or without a run, whether the target answers or not.
      const protocols = parseProtocolList(flags.protocol);
      const target = flags.target === undefined ? undefined : parseTargetUrl(flags.target);
      const matrix = {
        replicas: parseReplicaList(flags.replicas, usableCpus()),
        connections: parseCountList(flags.connections, 'connections'),
        durationSec,
        baselineDurationSec: flags['baseline-duration'] ? parseDurationSeconds(flags['baseline-duration'], 'baseline-duration') : Math.min(5, durationSec),
        warmupSec: warmup,
        target,
        grpcTarget: checkGrpcTarget(flags['grpc-target'], target, protocols),
        protocols,
      };
      const store = async () => (await this.dependencies(settings)).store;
      // Data named by --dataset, DATASET_NAME, TEST_FILE or the config file wins over the data the run was trained
      // with; named, its file is found and read before the registry is. Unnamed, the rows come from the test file of
      // the run served: the one bench starts, or the one the --target service says it serves. Called by runBench once
      // it has checked the rest: a --compare that would write into the scope, or an --out holding a report, is refused
      // as such before any of it is read.
      const source = async (): Promise<BenchData> => {
        const namedBy = dataNamedBy(resolved);
        if (namedBy === undefined) assertDataToCutFrom(settings.data);
        const decided = namedBy !== undefined ? await readBenchPayloadFile(benchPayloadFile(settings.data, { namedBy }), settings.data.maxInputBytes) : undefined;
        const window = await untilAbortedAs(
          matrix.target === undefined ? servedRunWindow(await store(), settings, flags.run, variants) : decided === undefined ? targetRunWindow(await store(), settings, matrix.target) : Promise.resolve(undefined),
          abort.signal,
          () => new FltsError('FLTS_BENCH_ABORTED', 'Benchmark stopped before it started a replica or sent a request: nothing was run.'),
        );
        return { payloadFile: decided ?? benchPayloadFile(settings.data, { trainedWith: window?.testFile }), window };
      };
      const report = await runBench(
        {
          ...matrix,
          modelName: settings.serve.modelName,
          apiToken: settings.serve.apiToken,
          source,
          payloadMaxBytes: settings.data.maxInputBytes,
          payloadRows: flags['payload-rows'],
          bodyLimitBytes: settings.serve.bodyLimitBytes,
          payloadLayout: flags['payload-layout'] as 'spread' | 'consecutive',
          variants,
          server: { exec: path.join(this.config.root, 'bin', 'run.js'), args: serveArgs, nodeOptions: process.env.NODE_OPTIONS },
          outDir: flags.out,
          replaceReport: flags.force,
          newOutDir: { parent: 'bench-results', name: new Date().toISOString().replace(/[:.]/g, '-') },
        },
        { onEvent: progress.onEvent, signal: abort.signal, onWaitingForReader: this.waitingForReader(settings) },
      );
      this.say('');
      this.say(renderBenchTable(report));
      // Said as the run started too, but that line has scrolled away by now: numbers of another dataset's rows are not
      // the served run's numbers.
      if (report.payload.origin === 'default') this.say(['', ...payloadFileLines(report.payload.source, report.payload.why, report.payload.hint)].join('\n'));
      if (report.files) this.say(`\nWrote ${report.files.csv}, ${report.files.markdown}, ${report.files.json}, ${report.files.svg}`);
      return report;
    } finally {
      progress.stop();
      abort.release();
    }
  }
}

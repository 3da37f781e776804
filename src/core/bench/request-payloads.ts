import { DEFAULT_MAX_INPUT_BYTES, readTable } from '../data/read-table.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import type { GrpcModelInferRequest } from '../serve/oip-grpc-service.js';
import { encodeRawTensor } from '../serve/oip-tensors.js';

export interface RequestPayloads {
  /** JSON bodies in the reference request shape, each a different slice of the data. */
  bodies: string[];
  /** The same slices as Open Inference Protocol JSON requests (a BYTES timestamp input, one FP64 input per column). */
  oipBodies: string[];
  /** The same slices as gRPC ModelInferRequests, with raw little-endian contents as tritonclient.grpc sends them. */
  grpcRequests: GrpcModelInferRequest[];
  source: string;
  rowsPerRequest: number;
  meanBytes: number;
}

const formatTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export interface CutOptions {
  /** The file's rows, read already (`readPayloadFrame`). */
  frame?: TimeFrame;
  /** Sees the file's columns before any body is cut: to refuse a file the served run cannot read. */
  checkColumns?: (columns: readonly string[]) => void;
  /** The largest request body the server accepts (serve.bodyLimitBytes): longer bodies are refused before the rest are cut. */
  maxBodyBytes?: number;
  /** What the distinct bodies of one kind may take together (default PAYLOAD_BYTES_BUDGET). */
  bytesBudget?: number;
}

/**
 * What the distinct bodies of one kind may take together: past it fewer are cut. 64 bodies of tens of thousands of
 * rows each, cut as JSON twice and as gRPC messages, took gigabytes, and bench ended out of memory.
 */
export const PAYLOAD_BYTES_BUDGET = 64 * 1024 * 1024;

/** The rows of a payload file; a directory, an empty file, a header alone or an unknown separator is a coded refusal. */
export async function readPayloadFrame(file: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): Promise<TimeFrame> {
  return (await readTable(file, maxBytes)).frame;
}

/**
 * The first rows of every `rows`-row slice with no empty cell: a missing value in a request is refused (400),
 * and a data file with a few gaps (the example data has some) would otherwise measure those refusals as errors.
 */
function completeSliceStarts(frame: TimeFrame, rows: number): number[] {
  const total = frame.time.length;
  const starts: number[] = [];
  let cleanRun = 0;
  for (let r = 0; r < total; r++) {
    cleanRun = frame.columns.every((column) => Number.isFinite(frame.values[column][r])) ? cleanRun + 1 : 0;
    if (cleanRun >= rows) starts.push(r - rows + 1);
  }
  return starts;
}

function bodyTooLarge(rows: number, bytes: number, limit: number): FltsError {
  const fits = Math.max(1, Math.floor((rows * limit) / bytes));
  return new FltsError(
    'FLTS_USAGE_INVALID_FLAG',
    `--payload-rows ${rows} makes request bodies of ${bytes} bytes, more than the ${limit} a flts serve accepts (serve.bodyLimitBytes): every request would be answered 413; about ${fits} rows fit.`,
    {
      details: { flag: 'payload-rows', value: rows, body_bytes: bytes, body_limit_bytes: limit, rows_that_fit: fits },
      hint: "Ask for fewer rows per request (--payload-rows), or raise FLTS_SERVE_BODY_LIMIT_BYTES in bench's environment: the replicas it starts inherit it; with --target, set it to the limit the service has.",
    },
  );
}

/** What bench's own refusal asks for: fewer rows per request, or a longer file (the catalogue's hint is about empty data). */
const TOO_FEW_ROWS_HINT = 'Ask for fewer rows per request (--payload-rows, at least the served run\'s input window), or cut them from a longer test file (--dataset NAME for NAME_test.csv, or TEST_FILE).';

/**
 * Request bodies cut from a raw data file (the PobleSec test CSV): consecutive `rows` rows in original units,
 * column-oriented with the timestamp column `time`, as the reference clients send them, from slices without
 * an empty cell. Bodies start at evenly spread offsets so the load never repeats one request (no response can
 * be served from a cache), or one row apart (`consecutive`), like a client sending its latest rows each step.
 */
export async function buildRequestPayloads(file: string, rows: number, modelName: string, count = 64, layout: 'spread' | 'consecutive' = 'spread', maxBytes = DEFAULT_MAX_INPUT_BYTES, options: CutOptions = {}): Promise<RequestPayloads> {
  const frame = options.frame ?? (await readPayloadFrame(file, maxBytes));
  options.checkColumns?.(frame.columns);
  const total = frame.time.length;
  if (total < rows) {
    throw new FltsError('FLTS_DATA_EMPTY', `${file} has ${total} rows, fewer than the ${rows} rows of one request body (--payload-rows).`, { details: { file, rows: total, payload_rows: rows }, hint: TOO_FEW_ROWS_HINT });
  }
  const complete = completeSliceStarts(frame, rows);
  if (complete.length === 0) {
    throw new FltsError('FLTS_DATA_EMPTY', `${file} has no ${rows} consecutive rows without an empty cell; --payload-rows ${rows} needs them (a request with a missing value is refused).`, {
      details: { file, rows: total, payload_rows: rows },
      hint: TOO_FEW_ROWS_HINT,
    });
  }
  const cut = (start: number) => {
    const data: Record<string, Array<string | number>> = { time: [] };
    for (let r = start; r < start + rows; r++) data.time.push(formatTime(frame.time[r]));
    for (const column of frame.columns) data[column] = Array.from(frame.values[column].subarray(start, start + rows));
    const inputs = Object.entries(data).map(([name, values]) => ({ name, datatype: name === 'time' ? 'BYTES' : 'FP64', shape: [rows], data: values }));
    const grpc: GrpcModelInferRequest = {
      model_name: modelName,
      inputs: inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      raw_input_contents: inputs.map(({ name, datatype, shape, data: values }) => encodeRawTensor({ name, datatype: datatype as 'BYTES' | 'FP64', shape, data: values })),
    };
    return { body: JSON.stringify({ index_col: 'time', data }), oip: JSON.stringify({ inputs }), grpc };
  };
  // Every layout starts at the first complete slice; its size stands for the others', whose rows are as many.
  const first = cut(complete[0]);
  const firstBytes = Math.max(Buffer.byteLength(first.body), Buffer.byteLength(first.oip));
  if (options.maxBodyBytes !== undefined && firstBytes > options.maxBodyBytes) throw bodyTooLarge(rows, firstBytes, options.maxBodyBytes);
  const starts = Math.min(count, complete.length, Math.max(1, Math.floor((options.bytesBudget ?? PAYLOAD_BYTES_BUDGET) / firstBytes)));
  const bodies: string[] = [];
  const oipBodies: string[] = [];
  const grpcRequests: GrpcModelInferRequest[] = [];
  for (let k = 0; k < starts; k++) {
    const { body, oip, grpc } = k === 0 ? first : cut(complete[layout === 'consecutive' || starts === 1 ? k : Math.floor((k * (complete.length - 1)) / (starts - 1))]);
    bodies.push(body);
    oipBodies.push(oip);
    grpcRequests.push(grpc);
  }
  const meanBytes = Math.round(bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0) / bodies.length);
  return { bodies, oipBodies, grpcRequests, source: file, rowsPerRequest: rows, meanBytes };
}

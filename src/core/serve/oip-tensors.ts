import { clip, quotedText, shownText } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { nextTurn, turnSpent } from '../loop-turns.js';

/**
 * Open Inference Protocol tensors, transport-neutral: one input as its flat element values, one output as
 * its flat data. JSON bodies, the HTTP binary tensor extension and gRPC raw contents all decode to these.
 */
export interface OipInput {
  name: string;
  datatype: string;
  shape: number[];
  values: unknown[];
}

export interface OipOutput {
  name: string;
  datatype: 'BYTES' | 'FP64';
  shape: number[];
  data: Array<string | number | null>;
}

interface NumericType {
  bytes: number;
  read(view: DataView, offset: number): number;
}

const NUMERIC_TYPES: Record<string, NumericType> = {
  BOOL: { bytes: 1, read: (view, offset) => (view.getUint8(offset) === 0 ? 0 : 1) },
  UINT8: { bytes: 1, read: (view, offset) => view.getUint8(offset) },
  UINT16: { bytes: 2, read: (view, offset) => view.getUint16(offset, true) },
  UINT32: { bytes: 4, read: (view, offset) => view.getUint32(offset, true) },
  UINT64: { bytes: 8, read: (view, offset) => Number(view.getBigUint64(offset, true)) },
  INT8: { bytes: 1, read: (view, offset) => view.getInt8(offset) },
  INT16: { bytes: 2, read: (view, offset) => view.getInt16(offset, true) },
  INT32: { bytes: 4, read: (view, offset) => view.getInt32(offset, true) },
  INT64: { bytes: 8, read: (view, offset) => Number(view.getBigInt64(offset, true)) },
  FP32: { bytes: 4, read: (view, offset) => view.getFloat32(offset, true) },
  FP64: { bytes: 8, read: (view, offset) => view.getFloat64(offset, true) },
};

export const OIP_DATATYPES: readonly string[] = [...Object.keys(NUMERIC_TYPES), 'BYTES'];

/**
 * A name (or datatype, header value) a client sent, as a message quotes it: clipped, and each character that shows as
 * something other than itself (a U+202E, an escape, a line break) written as its \u escape, as the /predict refusals
 * quote a column name. Details keep the clipped text as it was sent: JSON carries it exactly.
 */
export function shownName(text: string): string {
  return shownText(clip(text));
}

/** `name` is the input's name as the client sent it: messages quote it shown (shownName), details clipped. */
function invalid(message: string, name: string): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', message, { details: { input: clip(name) } });
}

const SHOWN_DIMENSIONS = 8;

/** A shape as a message shows it; a gRPC shape can have as many dimensions as the message has room for. */
export function formatShape(shape: readonly number[]): string {
  if (shape.length <= SHOWN_DIMENSIONS) return `[${shape.join(', ')}]`;
  return `[${shape.slice(0, SHOWN_DIMENSIONS).join(', ')}, ... (${shape.length} dimensions)]`;
}

export function elementCount(name: string, shape: readonly number[]): number {
  if (shape.some((dim) => !Number.isInteger(dim) || dim < 0)) throw invalid(`Input '${shownName(name)}' has shape ${formatShape(shape)}; every dimension must be a non-negative integer.`, name);
  return shape.reduce((product, dim) => product * dim, 1);
}

export function checkDatatype(name: string, datatype: string): void {
  if (!OIP_DATATYPES.includes(datatype)) throw invalid(`Input '${shownName(name)}' has datatype '${shownName(datatype)}'; expected one of ${OIP_DATATYPES.join(', ')}.`, name);
}

/** Integer datatypes' ranges as [least, first value past the greatest]: 2^63 and 2^64 are exact doubles, their predecessors are not (messages print the bounds as BigInts). */
const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  INT8: [-(2 ** 7), 2 ** 7],
  INT16: [-(2 ** 15), 2 ** 15],
  INT32: [-(2 ** 31), 2 ** 31],
  INT64: [-(2 ** 63), 2 ** 63],
  UINT8: [0, 2 ** 8],
  UINT16: [0, 2 ** 16],
  UINT32: [0, 2 ** 32],
  UINT64: [0, 2 ** 64],
};

const FP32_MAX = 3.4028234663852886e38;

/** An element as a message shows it: never more than a clipped part of a string. */
function describeElement(value: unknown): string {
  if (typeof value === 'string') return quotedText(clip(value, 40));
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Elements read or checked between two looks at the turn (loop-turns.ts): a message of the size limit holds 8M
 * one-byte elements (BOOL, INT8, UINT8), whose read or check held the event loop for 0.1-0.9 s in one turn.
 */
const ELEMENTS_A_LOOK = 16_384;

/** `each(i)` for every index below `count`, as an array, over as many turns as it takes. */
async function mapInTurns<T>(count: number, each: (i: number) => T): Promise<T[]> {
  const out = new Array<T>(count);
  for (let start = 0; start < count; start += ELEMENTS_A_LOOK) {
    if (start > 0 && turnSpent()) await nextTurn();
    const end = Math.min(count, start + ELEMENTS_A_LOOK);
    for (let i = start; i < end; i++) out[i] = each(i);
  }
  return out;
}

/** The index of the first element `fits` refuses (-1 for none), over as many turns as it takes. */
async function findIndexInTurns(values: readonly unknown[], fits: (value: unknown) => boolean): Promise<number> {
  for (let start = 0; start < values.length; start += ELEMENTS_A_LOOK) {
    if (start > 0 && turnSpent()) await nextTurn();
    const end = Math.min(values.length, start + ELEMENTS_A_LOOK);
    for (let i = start; i < end; i++) if (!fits(values[i])) return i;
  }
  return -1;
}

/**
 * Elements given as values (JSON `data`, gRPC typed contents) checked against the datatype their input declares,
 * as the protocol defines the types: BOOL true or false (read as 1 or 0, as binary BOOL is), integers within
 * their type's range, FP32/FP64 numbers (null for a missing value, as NaN in binary; FP32 rounded to float32), BYTES
 * text: the values the same tensor has in binary. Data of another type is a 400 naming the first element that does not
 * fit, rather than taken as it comes.
 */
export async function checkElements(name: string, datatype: string, values: unknown[]): Promise<unknown[]> {
  const firstOff = async (fits: (value: unknown) => boolean, expected: string): Promise<void> => {
    const index = await findIndexInTurns(values, fits);
    if (index >= 0) throw invalid(`Input '${shownName(name)}' is ${datatype}, but element ${index} is ${describeElement(values[index])}; ${datatype} data must be ${expected}.`, name);
  };
  if (datatype === 'BOOL') {
    await firstOff((value) => typeof value === 'boolean', 'true or false');
    return mapInTurns(values.length, (i) => (values[i] ? 1 : 0));
  }
  if (datatype === 'BYTES') await firstOff((value) => typeof value === 'string', 'strings');
  else if (datatype === 'FP64') await firstOff((value) => value === null || typeof value === 'number', 'numbers (or null)');
  else if (datatype === 'FP32') {
    await firstOff((value) => value === null || (typeof value === 'number' && !(Math.abs(value) > FP32_MAX)), `numbers within ±${FP32_MAX} (or null)`);
    // The float32 each number stands for, as binary data and gRPC's fp32_contents carry it and Triton and KServe convert
    // JSON data to its declared type: read as written, one tensor forecast one way as JSON and another as binary.
    return mapInTurns(values.length, (i) => (values[i] === null ? null : Math.fround(values[i] as number)));
  } else {
    const [least, past] = INTEGER_RANGES[datatype];
    await firstOff((value) => Number.isInteger(value) && (value as number) >= least && (value as number) < past, `integers from ${BigInt(least)} to ${BigInt(past) - 1n}`);
  }
  return values;
}

/**
 * JSON tensor data, flat or nested as deep as the shape has dimensions (the protocol allows both), to its
 * elements in row-major order. Iterative with a depth bound, so no nesting can exhaust the stack.
 */
export function flattenJsonData(name: string, data: readonly unknown[], shape: readonly number[]): unknown[] {
  const maxDepth = Math.max(1, shape.length);
  const out: unknown[] = [];
  const stack: Array<{ array: readonly unknown[]; index: number }> = [{ array: data, index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.index >= top.array.length) {
      stack.pop();
      continue;
    }
    const value = top.array[top.index++];
    if (!Array.isArray(value)) {
      out.push(value);
      continue;
    }
    if (stack.length >= maxDepth) throw invalid(`Input '${shownName(name)}' nests its data deeper than its ${shape.length}-dimensional shape ${formatShape(shape)}.`, name);
    stack.push({ array: value, index: 0 });
  }
  return out;
}

/** Raw little-endian tensor bytes (BYTES: each element a 4-byte length and its UTF-8 text) to elements. */
export async function decodeRawTensor(name: string, datatype: string, shape: readonly number[], raw: Uint8Array): Promise<unknown[]> {
  checkDatatype(name, datatype);
  const count = elementCount(name, shape);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let offset = 0;
    while (offset < raw.byteLength) {
      if (offset + 4 > raw.byteLength) throw invalid(`Input '${shownName(name)}': binary BYTES data ends inside an element's 4-byte length.`, name);
      const length = view.getUint32(offset, true);
      offset += 4;
      if (offset + length > raw.byteLength) throw invalid(`Input '${shownName(name)}': a binary BYTES element of ${length} bytes runs past the end of its data.`, name);
      out.push(Buffer.from(raw.buffer, raw.byteOffset + offset, length).toString('utf8'));
      offset += length;
      if (out.length % ELEMENTS_A_LOOK === 0 && turnSpent()) await nextTurn();
    }
    if (out.length !== count) throw invalid(`Input '${shownName(name)}' has shape ${formatShape(shape)} but ${out.length} binary BYTES elements.`, name);
    return out;
  }
  const type = NUMERIC_TYPES[datatype];
  if (raw.byteLength !== count * type.bytes) {
    throw invalid(`Input '${shownName(name)}' has shape ${formatShape(shape)} of ${datatype} (${count * type.bytes} bytes) but ${raw.byteLength} bytes of binary data.`, name);
  }
  return mapInTurns(count, (i) => type.read(view, i * type.bytes));
}

/** An output's data as raw little-endian bytes; FP64 nulls (non-finite forecasts) travel as NaN. */
export function encodeRawTensor(output: OipOutput): Buffer {
  if (output.datatype === 'BYTES') {
    const parts = output.data.map((value) => Buffer.from(String(value ?? ''), 'utf8'));
    const buffer = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + 4 + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      offset = buffer.writeUInt32LE(part.length, offset);
      offset += part.copy(buffer, offset);
    }
    return buffer;
  }
  const buffer = Buffer.allocUnsafe(output.data.length * 8);
  output.data.forEach((value, i) => buffer.writeDoubleLE(typeof value === 'number' ? value : Number.NaN, i * 8));
  return buffer;
}

/**
 * Inputs as the column-oriented `data` of /predict: each one-dimensional, its rows along one dimension and any others
 * of 1 ([rows], [rows, 1], a batch of one [1, rows]), named once.
 */
export function inputsToColumns(inputs: readonly OipInput[]): Record<string, unknown[]> {
  // No prototype: an input named 'constructor' or '__proto__' is a column like any other.
  const columns: Record<string, unknown[]> = Object.create(null);
  for (const input of inputs) {
    const count = elementCount(input.name, input.shape);
    if (count !== input.values.length) {
      throw invalid(`Input '${shownName(input.name)}' has shape ${formatShape(input.shape)} but ${input.values.length} values.`, input.name);
    }
    if (input.shape.filter((dim) => dim !== 1).length > 1) {
      throw invalid(`Input '${shownName(input.name)}' must be one-dimensional ([rows], or [rows] with dimensions of 1 beside it such as [rows, 1] or [1, rows]), got ${formatShape(input.shape)}.`, input.name);
    }
    if (input.name in columns) throw invalid(`Input '${shownName(input.name)}' is given twice.`, input.name);
    columns[input.name] = input.values;
  }
  return columns;
}

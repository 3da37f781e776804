import { FltsError } from '../errors.js';

/**
 * What flts reads and writes in a Parquet footer, a Thrift (compact protocol) FileMetaData struct: field 2 is
 * `schema: list<SchemaElement>`, field 5 `key_value_metadata: list<KeyValue>`. nodejs-polars cannot write
 * key-value metadata, so it is added to the footer afterwards. Only the footer is rewritten: column chunks keep
 * their absolute offsets because the footer comes last.
 */

const MAGIC = 'PAR1';
const SCHEMA_FIELD = 2;
const NUM_ROWS_FIELD = 3;
export const ROW_GROUPS_FIELD = 4;
const KEY_VALUE_FIELD = 5;
const TYPE_I64 = 6;
const TYPE_BINARY = 8;
const TYPE_LIST = 9;
const TYPE_STRUCT = 12;

export class CompactReader {
  position: number;
  constructor(private readonly bytes: Uint8Array, start: number) {
    this.position = start;
  }

  byte(): number {
    if (this.position >= this.bytes.length) throw new Error('truncated Thrift data');
    return this.bytes[this.position++];
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  binary(): Uint8Array {
    const length = Number(this.varint());
    const out = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return out;
  }

  /** Advances past one value of the given compact type. */
  skip(type: number): void {
    switch (type) {
      case 1: case 2: return; // bools live in the field header
      case 3: this.position += 1; return;
      case 4: case 5: case 6: this.varint(); return;
      case 7: this.position += 8; return;
      case 8: this.binary(); return;
      case 9: case 10: {
        const header = this.byte();
        const size = header >> 4 === 15 ? Number(this.varint()) : header >> 4;
        const elementType = header & 0x0f;
        for (let i = 0; i < size; i++) (elementType === 1 || elementType === 2 ? this.byte() : this.skip(elementType));
        return;
      }
      case 11: {
        const size = Number(this.varint());
        if (size === 0) return;
        const types = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(types >> 4);
          this.skip(types & 0x0f);
        }
        return;
      }
      case 12: {
        let fieldId = 0;
        for (;;) {
          const header = this.byte();
          if (header === 0) return;
          fieldId = this.fieldId(header, fieldId);
          this.skip(header & 0x0f);
        }
      }
      default:
        throw new Error(`unknown Thrift compact type ${type}`);
    }
  }

  fieldId(header: number, previous: number): number {
    const delta = header >> 4;
    if (delta !== 0) return previous + delta;
    const zigzag = Number(this.varint());
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }
}

interface RawField {
  id: number;
  type: number;
  payload: Uint8Array;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function binaryParts(text: string): Uint8Array[] {
  const utf8 = Buffer.from(text, 'utf8');
  return [Uint8Array.from(varintBytes(utf8.length)), utf8];
}

/** Built from parts: a value can be megabytes (the pandas entry of a wide table), too many to spread as arguments. */
function encodeKeyValueList(entries: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from(entries.length < 15 ? [(entries.length << 4) | TYPE_STRUCT] : [0xf0 | TYPE_STRUCT, ...varintBytes(entries.length)])];
  const fieldHeader = Uint8Array.of(0x10 | TYPE_BINARY);
  for (const [key, value] of entries) parts.push(fieldHeader, ...binaryParts(key), fieldHeader, ...binaryParts(value), Uint8Array.of(0));
  return Buffer.concat(parts);
}

function footerBounds(file: Uint8Array): { start: number; end: number } {
  const buffer = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 12 || buffer.toString('latin1', 0, 4) !== MAGIC || buffer.toString('latin1', file.length - 4) !== MAGIC) {
    throw new Error('not a Parquet file (missing PAR1 magic)');
  }
  const length = buffer.readUInt32LE(file.length - 8);
  return { start: file.length - 8 - length, end: file.length - 8 };
}

export function readTopLevelFields(file: Uint8Array): { fields: RawField[]; footerStart: number } {
  const { start, end } = footerBounds(file);
  const reader = new CompactReader(file.subarray(0, end), start);
  const fields: RawField[] = [];
  let fieldId = 0;
  for (;;) {
    const header = reader.byte();
    if (header === 0) break;
    fieldId = reader.fieldId(header, fieldId);
    const payloadStart = reader.position;
    reader.skip(header & 0x0f);
    fields.push({ id: fieldId, type: header & 0x0f, payload: file.subarray(payloadStart, reader.position) });
  }
  return { fields, footerStart: start };
}

function decodeKeyValueList(payload: Uint8Array): Array<[string, string]> {
  const reader = new CompactReader(payload, 0);
  const header = reader.byte();
  const size = header >> 4 === 15 ? Number(reader.varint()) : header >> 4;
  const entries: Array<[string, string]> = [];
  for (let i = 0; i < size; i++) {
    let key = '';
    let value = '';
    let fieldId = 0;
    for (;;) {
      const fieldHeader = reader.byte();
      if (fieldHeader === 0) break;
      fieldId = reader.fieldId(fieldHeader, fieldId);
      if ((fieldHeader & 0x0f) === TYPE_BINARY && (fieldId === 1 || fieldId === 2)) {
        const text = Buffer.from(reader.binary()).toString('utf8');
        if (fieldId === 1) key = text;
        else value = text;
      } else {
        reader.skip(fieldHeader & 0x0f);
      }
    }
    entries.push([key, value]);
  }
  return entries;
}

/**
 * How many fields the file's schema declares (its schema elements but the root), read from the footer alone;
 * undefined when the footer cannot be read, which the Parquet reader then reports in its own words.
 */
export function readParquetSchemaSize(file: Uint8Array): number | undefined {
  try {
    const { start, end } = footerBounds(file);
    if (start < MAGIC.length) return undefined;
    const reader = new CompactReader(file.subarray(0, end), start);
    let fieldId = 0;
    for (;;) {
      const header = reader.byte();
      if (header === 0) return undefined;
      fieldId = reader.fieldId(header, fieldId);
      if (fieldId === SCHEMA_FIELD && (header & 0x0f) === TYPE_LIST) {
        const listHeader = reader.byte();
        const size = listHeader >> 4 === 15 ? Number(reader.varint()) : listHeader >> 4;
        return Math.max(0, size - 1);
      }
      reader.skip(header & 0x0f);
    }
  } catch {
    return undefined;
  }
}

/**
 * The rows the file declares, read from the footer alone: the larger of its total (FileMetaData field 3, `num_rows`)
 * and the sum of its row groups' own counts (field 4, each RowGroup's field 3), for a reader builds each row group
 * by its own count, whatever the total says. Undefined when the footer cannot be read, which the Parquet reader then
 * reports in its own words.
 */
export function readParquetRowCount(file: Uint8Array): number | undefined {
  try {
    const { fields } = readTopLevelFields(file);
    const total = fields.find((f) => f.id === NUM_ROWS_FIELD && f.type === TYPE_I64);
    const groups = fields.find((f) => f.id === ROW_GROUPS_FIELD && f.type === TYPE_LIST);
    if (!total && !groups) return undefined;
    return Math.max(total ? zigzag(new CompactReader(total.payload, 0).varint()) : 0, groups ? rowGroupRows(groups.payload) : 0);
  } catch {
    return undefined;
  }
}

/** The sum of the `num_rows` (field 3) of a list of RowGroup structs. */
function rowGroupRows(payload: Uint8Array): number {
  const reader = new CompactReader(payload, 0);
  const header = reader.byte();
  const size = header >> 4 === 15 ? Number(reader.varint()) : header >> 4;
  let rows = 0;
  for (let i = 0; i < size; i++) {
    let fieldId = 0;
    for (;;) {
      const fieldHeader = reader.byte();
      if (fieldHeader === 0) break;
      fieldId = reader.fieldId(fieldHeader, fieldId);
      if (fieldId === NUM_ROWS_FIELD && (fieldHeader & 0x0f) === TYPE_I64) rows += zigzag(reader.varint());
      else reader.skip(fieldHeader & 0x0f);
    }
  }
  return rows;
}

/** A column of the file's schema at the top level, as far as reading it into a series is concerned. */
export interface ParquetColumn {
  name: string;
  /**
   * A single value of a type the Parquet reader turns into a series (a number, text, a decimal, a date or a
   * time); false for nested columns (a list, a struct, a map) and for bytes without a text or decimal
   * annotation (binary, UUID, float16), which nodejs-polars cannot convert and panics on.
   */
  readable: boolean;
}

const TYPE_I32 = 5;
const REPEATED = 2;
const BYTE_ARRAY = 6;
const FIXED_LEN_BYTE_ARRAY = 7;
// ConvertedType UTF8, ENUM, DECIMAL, JSON and LogicalType STRING, ENUM, DECIMAL, JSON: bytes read as text or numbers.
const READABLE_CONVERTED_BYTES = new Set([0, 4, 5, 19]);
const READABLE_LOGICAL_BYTES = new Set([1, 4, 5, 12]);

interface SchemaElement {
  name: string;
  type?: number;
  repetition?: number;
  children: number;
  converted?: number;
  logical?: number;
}

export const zigzag = (value: bigint): number => {
  const n = Number(value);
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
};

/** The field id of the one field a Thrift union (LogicalType) sets; the rest of it is skipped. */
function unionMember(reader: CompactReader): number | undefined {
  let member: number | undefined;
  let fieldId = 0;
  for (;;) {
    const header = reader.byte();
    if (header === 0) return member;
    fieldId = reader.fieldId(header, fieldId);
    member ??= fieldId;
    reader.skip(header & 0x0f);
  }
}

function readSchemaElement(reader: CompactReader): SchemaElement {
  const element: SchemaElement = { name: '', children: 0 };
  let fieldId = 0;
  for (;;) {
    const header = reader.byte();
    if (header === 0) return element;
    fieldId = reader.fieldId(header, fieldId);
    const type = header & 0x0f;
    if (type === TYPE_I32 && (fieldId === 1 || fieldId === 3 || fieldId === 5 || fieldId === 6)) {
      const value = zigzag(reader.varint());
      if (fieldId === 1) element.type = value;
      else if (fieldId === 3) element.repetition = value;
      else if (fieldId === 5) element.children = value;
      else element.converted = value;
    } else if (type === TYPE_BINARY && fieldId === 4) {
      element.name = Buffer.from(reader.binary()).toString('utf8');
    } else if (type === TYPE_STRUCT && fieldId === 10) {
      element.logical = unionMember(reader);
    } else {
      reader.skip(type);
    }
  }
}

function readable(element: SchemaElement): boolean {
  if (element.children > 0 || element.repetition === REPEATED) return false;
  if (element.type !== BYTE_ARRAY && element.type !== FIXED_LEN_BYTE_ARRAY) return true;
  return (element.converted !== undefined && READABLE_CONVERTED_BYTES.has(element.converted)) || (element.logical !== undefined && READABLE_LOGICAL_BYTES.has(element.logical));
}

/**
 * The top-level columns of the file's schema, in order (a nested column's own fields are not columns of the
 * table), read from the footer alone; undefined when the footer cannot be read, which the Parquet reader then
 * reports in its own words.
 */
export function readParquetColumns(file: Uint8Array): ParquetColumn[] | undefined {
  try {
    const schema = readTopLevelFields(file).fields.find((field) => field.id === SCHEMA_FIELD && field.type === TYPE_LIST);
    if (!schema) return undefined;
    const reader = new CompactReader(schema.payload, 0);
    const listHeader = reader.byte();
    const size = listHeader >> 4 === 15 ? Number(reader.varint()) : listHeader >> 4;
    const elements = Array.from({ length: size }, () => readSchemaElement(reader));
    if (elements.length === 0) return undefined;
    const columns: ParquetColumn[] = [];
    let next = 1;
    for (let c = 0; c < elements[0].children && next < elements.length; c++) {
      const element = elements[next];
      columns.push({ name: element.name, readable: readable(element) });
      // Past this column's subtree: every element read adds its own children to the count still to pass.
      let pending = 1;
      while (pending > 0 && next < elements.length) pending += elements[next++].children - 1;
    }
    return columns;
  } catch {
    return undefined;
  }
}

/** The file's key-value metadata (for example `ARROW:schema`, `config_hash`). */
export function readParquetKeyValueMetadata(file: Uint8Array): Record<string, string> {
  const field = readTopLevelFields(file).fields.find((f) => f.id === KEY_VALUE_FIELD && f.type === TYPE_LIST);
  return Object.fromEntries(field ? decodeKeyValueList(field.payload) : []);
}

/** Returns a copy of the Parquet file with the given entries added to (or replacing) its key-value metadata, minus `drop`. */
export function addParquetKeyValueMetadata(file: Uint8Array, metadata: Readonly<Record<string, string>>, options: { drop?: readonly string[] } = {}): Buffer {
  try {
    const { fields, footerStart } = readTopLevelFields(file);
    const existing = fields.find((f) => f.id === KEY_VALUE_FIELD);
    const merged = new Map(existing ? decodeKeyValueList(existing.payload) : []);
    for (const key of options.drop ?? []) merged.delete(key);
    for (const [key, value] of Object.entries(metadata)) merged.set(key, value);
    const replaced = [...fields.filter((f) => f.id !== KEY_VALUE_FIELD), { id: KEY_VALUE_FIELD, type: TYPE_LIST, payload: encodeKeyValueList([...merged]) }];
    replaced.sort((a, b) => a.id - b.id);
    const footer: number[] = [];
    let previous = 0;
    const parts: Uint8Array[] = [file.subarray(0, footerStart)];
    for (const field of replaced) {
      const delta = field.id - previous;
      const header = delta > 0 && delta <= 15 ? [(delta << 4) | field.type] : [field.type, ...varintBytes((field.id << 1) ^ (field.id >> 15))];
      parts.push(Uint8Array.from(header), field.payload);
      footer.push(header.length + field.payload.length);
      previous = field.id;
    }
    parts.push(Uint8Array.of(0));
    const footerLength = footer.reduce((sum, n) => sum + n, 0) + 1;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(footerLength, 0);
    trailer.write(MAGIC, 4, 'latin1');
    parts.push(trailer);
    return Buffer.concat(parts);
  } catch (cause) {
    throw new FltsError('FLTS_INTERNAL', `Cannot add metadata to the Parquet footer: ${(cause as Error).message}`, { cause });
  }
}

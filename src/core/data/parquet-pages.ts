import { CompactReader, readTopLevelFields, ROW_GROUPS_FIELD, zigzag } from './parquet-footer.js';

/**
 * The bytes a Parquet file's pages decompress to, summed from their own headers: what a reader allocates and
 * decodes, whatever the footer declares. Each column chunk the footer lists is walked page by page over the range
 * it names (the range a reader reads). Undefined when the footer or a page header cannot be read, which the
 * Parquet reader then reports in its own words.
 */
export function readParquetDecodedBytes(file: Uint8Array): number | undefined {
  try {
    const { fields, footerStart } = readTopLevelFields(file);
    const groups = fields.find((field) => field.id === ROW_GROUPS_FIELD && field.type === TYPE_LIST);
    if (!groups) return undefined;
    let total = 0;
    for (const chunk of columnChunks(groups.payload)) total += chunkPagesBytes(file, chunk, footerStart);
    return total;
  } catch {
    return undefined;
  }
}

const TYPE_I32 = 5;
const TYPE_I64 = 6;
const TYPE_LIST = 9;
const TYPE_STRUCT = 12;
// RowGroup.columns; ColumnChunk.meta_data; ColumnMetaData's sizes and offsets; PageHeader's sizes.
const ROW_GROUP_COLUMNS = 1;
const CHUNK_META_DATA = 3;
const META_TOTAL_COMPRESSED_SIZE = 7;
const META_DATA_PAGE_OFFSET = 9;
const META_DICTIONARY_PAGE_OFFSET = 11;
const PAGE_UNCOMPRESSED_SIZE = 2;
const PAGE_COMPRESSED_SIZE = 3;

interface ChunkRange {
  start: number;
  compressedBytes: number;
}

function listSize(reader: CompactReader): { size: number; elementType: number } {
  const header = reader.byte();
  return { size: header >> 4 === 15 ? Number(reader.varint()) : header >> 4, elementType: header & 0x0f };
}

/** Each column chunk's byte range, from the ColumnMetaData of every row group's columns. */
function columnChunks(rowGroups: Uint8Array): ChunkRange[] {
  const reader = new CompactReader(rowGroups, 0);
  const chunks: ChunkRange[] = [];
  const groups = listSize(reader);
  for (let g = 0; g < groups.size; g++) {
    let fieldId = 0;
    for (let header = reader.byte(); header !== 0; header = reader.byte()) {
      fieldId = reader.fieldId(header, fieldId);
      if (fieldId !== ROW_GROUP_COLUMNS || (header & 0x0f) !== TYPE_LIST) {
        reader.skip(header & 0x0f);
        continue;
      }
      const columns = listSize(reader);
      for (let c = 0; c < columns.size; c++) {
        const chunk = readColumnChunk(reader);
        if (chunk) chunks.push(chunk);
      }
    }
  }
  return chunks;
}

function readColumnChunk(reader: CompactReader): ChunkRange | undefined {
  let chunk: ChunkRange | undefined;
  let fieldId = 0;
  for (let header = reader.byte(); header !== 0; header = reader.byte()) {
    fieldId = reader.fieldId(header, fieldId);
    if (fieldId === CHUNK_META_DATA && (header & 0x0f) === TYPE_STRUCT) chunk = readColumnMetaData(reader);
    else reader.skip(header & 0x0f);
  }
  return chunk;
}

function readColumnMetaData(reader: CompactReader): ChunkRange {
  let compressedBytes = 0;
  let dataPage = 0;
  let dictionaryPage = 0;
  let fieldId = 0;
  for (let header = reader.byte(); header !== 0; header = reader.byte()) {
    fieldId = reader.fieldId(header, fieldId);
    if ((header & 0x0f) !== TYPE_I64) reader.skip(header & 0x0f);
    else if (fieldId === META_TOTAL_COMPRESSED_SIZE) compressedBytes = zigzag(reader.varint());
    else if (fieldId === META_DATA_PAGE_OFFSET) dataPage = zigzag(reader.varint());
    else if (fieldId === META_DICTIONARY_PAGE_OFFSET) dictionaryPage = zigzag(reader.varint());
    else reader.skip(TYPE_I64);
  }
  // A dictionary page, where there is one, comes first; some writers set its offset to 0 when there is none.
  return { start: dictionaryPage > 0 && dictionaryPage < dataPage ? dictionaryPage : dataPage, compressedBytes };
}

/** The uncompressed sizes of the pages in one chunk's range (kept within the file's data, before its footer). */
function chunkPagesBytes(file: Uint8Array, chunk: ChunkRange, footerStart: number): number {
  const end = Math.min(chunk.start + chunk.compressedBytes, footerStart);
  const reader = new CompactReader(file.subarray(0, end), chunk.start);
  let total = 0;
  while (reader.position < end) {
    let uncompressed = 0;
    let compressed = -1;
    let fieldId = 0;
    for (let header = reader.byte(); header !== 0; header = reader.byte()) {
      fieldId = reader.fieldId(header, fieldId);
      if ((header & 0x0f) === TYPE_I32 && fieldId === PAGE_UNCOMPRESSED_SIZE) uncompressed = zigzag(reader.varint());
      else if ((header & 0x0f) === TYPE_I32 && fieldId === PAGE_COMPRESSED_SIZE) compressed = zigzag(reader.varint());
      else reader.skip(header & 0x0f);
    }
    if (compressed < 0 || uncompressed < 0) throw new Error('a page header without its sizes');
    total += uncompressed;
    reader.position += compressed;
  }
  return total;
}

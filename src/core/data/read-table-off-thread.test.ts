import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { readTableBytes } from './read-table.js';
import { readTableBytesOffThread } from './read-table-off-thread.js';

const CSV = readFileSync(path.resolve(__dirname, '../../../../shared/datasets/PobleSec_test.csv'));

describe('data > readTableBytesOffThread', () => {
  it('reads what readTableBytes reads while this thread goes on turning', async () => {
    let turned = false;
    const parsing = readTableBytesOffThread(CSV, 'PobleSec_test.csv').then((result) => ({ result, turnedFirst: turned }));
    setImmediate(() => (turned = true));
    const { result, turnedFirst } = await parsing;
    // Parsed here, the promise would settle before the event loop's next turn.
    expect(turnedFirst).toBe(true);
    expect(result).toEqual(readTableBytes(CSV, 'PobleSec_test.csv'));
  });

  it('fails with the reader\'s code and message', async () => {
    await expect(readTableBytesOffThread(Buffer.from('time,down\n'), 'empty.csv')).rejects.toMatchObject({ code: 'FLTS_DATA_EMPTY', message: 'empty.csv: the file has no data rows.' });
  });

  it('fails with the reader\'s details and hint too: the line, the field counts, the source', async () => {
    const ragged = Buffer.from('time,down\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2,3\n');
    const onThread = (() => {
      try {
        readTableBytes(ragged, 'ragged.csv');
      } catch (error) {
        return error as FltsError;
      }
      throw new Error('ragged.csv was read');
    })();
    expect(onThread.details).toMatchObject({ source: 'ragged.csv', line: 3, fields: 3, expected: 2 });
    const offThread = await readTableBytesOffThread(ragged, 'ragged.csv').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(offThread).toBeInstanceOf(FltsError);
    expect(offThread).toMatchObject({ code: onThread.code, message: onThread.message, hint: onThread.hint, details: onThread.details });
  });
});

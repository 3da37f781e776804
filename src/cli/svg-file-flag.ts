import { formatByExtension } from '../core/file-format.js';
import { assertWritableFile } from '../core/write-file-whole.js';

/**
 * A flag naming a local SVG file to write (`backtest --plot`, `predict --plot`): one that does not end in .svg,
 * or a place it cannot be written, is refused before the command does its work and records it.
 */
export async function checkSvgFileFlag(file: string | undefined, flag: string): Promise<void> {
  if (file === undefined) return;
  formatByExtension(file, { '.svg': 'svg' }, flag);
  await assertWritableFile(file);
}

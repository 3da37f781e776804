import path from 'node:path';
import { clip } from './clip-text.js';
import { FltsError } from './errors.js';

/**
 * The format an output file is written in, decided by its extension (any case) among `formats`. Any other name
 * is a usage error naming the accepted extensions, refused before any work: a file named `.txt` or `.png`
 * never silently holds Parquet or SVG.
 */
export function formatByExtension<F extends string>(file: string, formats: Readonly<Record<string, F>>, flag: string): F {
  const extension = path.extname(file).toLowerCase();
  if (Object.hasOwn(formats, extension)) return formats[extension];
  const accepted = Object.keys(formats);
  // path.extname('.onnx') is '': a name that is only an extension has none, and "end the name in .onnx" would not help.
  const bare = path.basename(file).toLowerCase();
  if (Object.hasOwn(formats, bare)) {
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${flag} ${JSON.stringify(clip(file))}: the name is only an extension; put a name before it (${path.join(path.dirname(file), `<name>${bare}`)}).`, {
      details: { flag, value: clip(file), accepted },
    });
  }
  const list = accepted.length > 1 ? `${accepted.slice(0, -1).join(', ')} or ${accepted[accepted.length - 1]}` : accepted[0];
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${flag} ${JSON.stringify(clip(file))}: the extension decides the format written; end the name in ${list}.`, {
    details: { flag, value: clip(file), accepted },
  });
}

import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { clip, quotedText } from '../core/clip-text.js';
import type { Settings } from '../core/config/settings.js';
import type { InferenceDataRef } from '../core/batch/inference-input.js';
import { FltsError } from '../core/errors.js';
import { fsStoreRoot } from '../core/storage/index.js';

/**
 * Refuses an output flag that names the local file an input flag reads, by whatever path or symbolic link: the output,
 * written whole in its place, would replace the data it was made from (`flts predict --data f.csv --out f.csv` left
 * forecasts where the user's data had been). An object of the embedded store is read from its file there, so the
 * caller names that file (`input.file`); a file that is not there yet, or an input that is no local file (an object
 * of an S3 store, `input.file` undefined), names nothing to replace.
 */
export async function refuseOutputOverInput(output: { flag: string; file: string | undefined }, input: { flag: string; file: string | undefined }): Promise<void> {
  if (output.file === undefined || input.file === undefined) return;
  const [written, read] = await Promise.all([realpath(output.file).catch(() => undefined), realpath(input.file).catch(() => undefined)]);
  if (written === undefined || written !== read) return;
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${output.flag} ${clip(quotedText(output.file))} is the file --${input.flag} reads: written there, the output would replace the data it is made from; name another file.`, {
    details: { flag: output.flag, value: output.file },
  });
}

/** Symbolic-link hops followed before giving up, as the kernel does (ELOOP). */
const MAX_LINK_HOPS = 40;

/**
 * Where a write to `file` lands, links and `..` resolved: the file a symbolic link names (writeFileWhole replaces
 * that, a link to a file still to be made included), under the real path of its deepest existing folder, so a
 * file not there yet is placed as surely as one that is.
 */
async function landingPath(file: string): Promise<string> {
  let target = path.resolve(file);
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const link = await lstat(target).catch(() => undefined);
    if (!link?.isSymbolicLink()) break;
    target = path.resolve(path.dirname(target), await readlink(target));
  }
  const rest: string[] = [];
  for (let folder = target; ; folder = path.dirname(folder)) {
    const real = await realpath(folder).catch(() => undefined);
    if (real !== undefined) return path.join(real, ...rest);
    if (path.dirname(folder) === folder) return target;
    rest.unshift(path.basename(folder));
  }
}

/**
 * Refuses an output flag that names a path inside the embedded store (<home>/store), by whatever path, `..` or link,
 * whether or not a file is there yet: the store's folders are flts's own, and a file written there replaced an object
 * flts wrote and reads back (`flts predict --out .flts/store/runs/<run_id>/predictions.json` left a forecast table
 * where the run's test predictions were, and `flts eval --plot` then failed as an internal error), or became one that
 * listings and cleanups take for flts's (`runs/<run_id>/new.json`, a `processed-data/` key). `kind` is what the flag
 * names, a file or a folder (`bench --out`).
 */
export async function refuseOutputInStore(output: { flag: string; file: string | undefined }, settings: Settings, kind: 'file' | 'folder' = 'file'): Promise<void> {
  if (output.file === undefined || settings.store.kind !== 'fs') return;
  const [written, root] = await Promise.all([landingPath(output.file), landingPath(fsStoreRoot(settings))]);
  if (written !== root && !written.startsWith(root + path.sep)) return;
  const object = path.relative(root, written).split(path.sep).join('/');
  const held = await lstat(written).then(
    () => true,
    () => false,
  );
  const what = object === '' ? `is the store's own folder, ${clip(root)}` : held ? `is ${clip(quotedText(object))} of the store at ${clip(root)}: written there, the output would replace what flts keeps there` : `lies inside the store at ${clip(root)} (as ${clip(quotedText(object))}): the store's folders are flts's own, where an output would be taken for an object or replaced by one`;
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${output.flag} ${clip(quotedText(output.file))} ${what}; name a ${kind} outside the store.`, {
    details: { flag: output.flag, value: output.file, object },
  });
}

/**
 * The local file a data argument reads: the file itself, or, for an object of the embedded store, its file under
 * <home>/store (an output written there replaced it: `--data processed-data/test_processed_data.parquet --out
 * .flts/store/processed-data/test_processed_data.parquet` wrote the forecast table over the processed test data, and
 * preprocess went on answering "cached" over it); undefined for an object of an S3 store.
 */
export function localFileOf(data: InferenceDataRef, settings: Settings): string | undefined {
  if (typeof data === 'string') return data;
  return settings.store.kind === 'fs' ? path.join(fsStoreRoot(settings), data.bucket, ...data.key.split('/')) : undefined;
}

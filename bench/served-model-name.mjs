// The model name a `flts serve` answers for in the Open Inference Protocol (/v2/models/<name>/..., gRPC model_name):
// serve.modelName as the server resolves it, FLTS_SERVE_MODEL_NAME or the setting's default. The benches that call
// those routes ask here instead of naming the model, so a renamed model still benches.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * serve.modelName of the build in `root` (a checkout with `npm run build` done) for a server started with `env`.
 * Only the model name's own variable is read, so a setting the bench does not use cannot fail it; a build older than
 * the setting served "flts".
 */
export async function servedModelName(env = process.env, root = REPO_ROOT) {
  const { resolveSettings } = await import(pathToFileURL(path.resolve(root, 'dist/core/config/settings.js')).href);
  const only = env.FLTS_SERVE_MODEL_NAME === undefined ? {} : { FLTS_SERVE_MODEL_NAME: env.FLTS_SERVE_MODEL_NAME };
  return resolveSettings({ env: only }).settings.serve?.modelName ?? 'flts';
}

/** The path of `name`'s Open Inference Protocol routes: /v2/models/<name>, its one path element escaped. */
export function modelPath(name) {
  return `/v2/models/${encodeURIComponent(name)}`;
}

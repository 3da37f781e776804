/**
 * The `--json` result of every command (and the JSON files a command writes for people and scripts, such as
 * bench.json) in one field style, snake_case, the reference system's (`config_hash`, `run_id`): the library hands out
 * camelCase fields (`configHash`), the run and board records snake_case ones, and a result built of both would
 * otherwise mix them in one document.
 */

/**
 * Objects keyed by names from the data or the user rather than by fields: target and column names, interval levels,
 * model artifact files, ONNX metadata, MLflow params and tags. Their own keys stay as they are (a target column
 * `cpuLoad` is not a field); what lies inside them is converted again.
 */
const KEYED_BY_NAMES = new Set(['targets', 'targetFloors', 'target_floors', 'coverage', 'intervals', 'uncalibrated', 'artifact_sha256', 'params', 'tags', 'lowerBounds', 'lower_bounds', 'metadata']);

const CAMEL_CASE = /^[a-z][a-zA-Z0-9]*[A-Z][a-zA-Z0-9]*$/;

/** `configHash` -> `config_hash`; a unit is one word, as the CSV columns write it (`serverRssMiB` -> `server_rss_mib`). */
export function snakeCaseKey(key: string): string {
  if (!CAMEL_CASE.test(key)) return key;
  return key
    .replace(/([KMGT])iB/g, '$1ib')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

export function snakeCaseKeys(value: unknown, keepOwnKeys = false): unknown {
  if (Array.isArray(value)) return value.map((item) => snakeCaseKeys(item));
  if (value === null || typeof value !== 'object' || !isPlainObject(value)) return value;
  const converted: Record<string, unknown> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  const own = new Set(entries.map(([key]) => key));
  for (const [key, item] of entries) {
    const name = keepOwnKeys ? key : snakeCaseKey(key);
    // A record spread into a camelCase result may carry the field both ways (config_hash beside configHash): one stays.
    if (name !== key && own.has(name)) continue;
    converted[name] = snakeCaseKeys(item, KEYED_BY_NAMES.has(key));
  }
  return converted;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

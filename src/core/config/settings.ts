import { closestName } from '../closest-name.js';
import { clip, firstFew, LISTED_NAMES, QUOTED_CHARS, quotedText, shownText } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { credentialsIn, rememberSecrets } from '../redact.js';
import { parseSettingText, repeatsOf, validateSettingValue, type SettingSource, type SettingSpec } from './specs/setting-spec.js';
import { ALL_SPECS, type Settings } from './specs/index.js';
import { PROFILE_DEFAULTS, type SettingProfile } from './specs/profiles.js';
import { trackingTlsConflict } from './specs/tracking.js';
import { identifierLookalike } from './specs/runtime.js';

export type { Settings } from './specs/index.js';

export type EnvironmentLike = Readonly<Record<string, string | undefined>>;

export interface ResolveSettingsOptions {
  /** Parsed config file contents (nested like Settings). */
  file?: Record<string, unknown>;
  /** The process environment, passed in as a plain object: core never reads it itself. */
  env?: EnvironmentLike;
  /** Flag values by dot path; `undefined` entries are ignored. Strings are parsed like env text. */
  flags?: Readonly<Record<string, unknown>>;
  specs?: readonly SettingSpec[];
}

export interface ResolvedSettings {
  settings: Settings;
  /** Which layer each setting came from, for `--json` provenance and error messages. */
  sources: Record<string, SettingSource>;
  /** The environment variable each env-sourced setting came from. */
  envNames: Record<string, string>;
  /** What was accepted but is worth a word: the caller says it (core never prints). */
  warnings: SettingWarning[];
}

/**
 * What a setting took with a word: a repeated item of a list variable the reference reads as a set
 * (EXPECTED_MODEL_TYPES), dropped rather than refused; an identifier holding a character that makes it look like
 * another name (U+00A0), taken as the scope of what the deployment stored under it.
 */
export interface SettingWarning {
  code: 'settings_env_repeats_dropped' | 'settings_identifier_lookalike';
  setting: string;
  /** The environment variable that gave the value, when one did. */
  env?: string;
  /** Each repeat as written, once per time it was repeated. */
  repeated?: string[];
  /** The value kept. */
  value: string[] | string;
  message: string;
}

/** The list without its repeats, and the warning that says so; none when nothing repeats. */
function droppingRepeats(spec: SettingSpec, items: string[], envName: string): { items: string[]; warning?: SettingWarning } {
  const repeats = repeatsOf(spec, items);
  if (repeats.length === 0) return { items };
  const dropped = new Set(repeats.map((repeat) => repeat.index));
  const kept = items.filter((_, index) => !dropped.has(index));
  const named = [...new Set(repeats.map((repeat) => repeat.first))].join(', ');
  const message = `${envName} (setting ${spec.path}) names ${named} more than once: read as a set, as the reference reads it, so ${kept.join(',')}. Name each once (${spec.path} in a config file refuses a repeat).`;
  return { items: kept, warning: { code: 'settings_env_repeats_dropped', setting: spec.path, env: envName, repeated: repeats.map((repeat) => repeat.item), value: kept, message } };
}

/**
 * The warning of a deployment identifier that shows as another name (identifierLookalike): taken, not refused, since
 * an earlier release took it and it names the scope of the deployment's promotions and logs; refusing it would cut an
 * upgraded deployment off them.
 */
function identifierLookalikeWarning(identifier: string, source: SettingSource | undefined, envName?: string): SettingWarning | undefined {
  const problem = identifier ? identifierLookalike(identifier) : undefined;
  if (problem === undefined) return undefined;
  const origin = envName ? `${envName} (setting identifier)` : source === 'flag' ? '--identifier (setting identifier)' : 'identifier in the config file';
  const message = `${origin} = ${quotedText(identifier)} ${problem}, so this scope shows as another name in every listing, label and log line. Taken, as the scope of what this deployment stored under it; a request naming another series with such a character is refused. A new deployment should name its scope without it.`;
  return { code: 'settings_identifier_lookalike', setting: 'identifier', ...(envName ? { env: envName } : {}), value: identifier, message };
}

function getPath(tree: Record<string, unknown> | undefined, path: string): unknown {
  let node: unknown = tree;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function setPath(tree: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/**
 * The file's paths down to `depth` keys: an object nested deeper is one leaf there, for no setting lies below it, and
 * walking a file nested 100,000 deep overflowed the stack (FLTS_INTERNAL) before the first unknown key was named.
 */
function collectLeafPaths(tree: Record<string, unknown>, depth: number, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const isBranch = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
    return isBranch && depth > 1 ? collectLeafPaths(value as Record<string, unknown>, depth - 1, path) : [path];
  });
}

function isEmptyObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;
}

/**
 * Keys of the config file that hold a dot (`"training.epochs": 2`), with the path of the object holding them. Joined
 * into a path they would pass for a setting's, yet the file is read by nesting, so they would set nothing unseen.
 */
function dottedKeys(tree: Record<string, unknown>, depth: number, prefix = ''): { path: string; key: string }[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    if (!prefix && key.startsWith('$')) return [];
    if (key.includes('.')) return [{ path: prefix ? `${prefix}.${key}` : key, key }];
    const isBranch = value !== null && typeof value === 'object' && !Array.isArray(value);
    return isBranch && depth > 1 ? dottedKeys(value as Record<string, unknown>, depth - 1, prefix ? `${prefix}.${key}` : key) : [];
  });
}

/**
 * The settings an unknown path most plausibly meant: the one a typo or two away (training.epoch), else those of the
 * same name in another group ({"serve": {"epochs": 5}}: training.epochs), at most three.
 */
function meantSettings(path: string, known: readonly string[]): string[] {
  const close = closestName(path, known);
  if (close !== undefined) return [close];
  const name = path.split('.').pop()!.toLowerCase();
  return known.filter((candidate) => candidate.split('.').pop()!.toLowerCase() === name).slice(0, 3);
}

function assertKnownFileKeys(file: Record<string, unknown>, specs: readonly SettingSpec[]): void {
  // One key past the deepest setting, so a key nested below a setting's place is still named as unknown.
  const depth = Math.max(1, ...specs.map((spec) => spec.path.split('.').length)) + 1;
  const dotted = dottedKeys(file, depth);
  if (dotted.length > 0) {
    const { key } = dotted[0];
    const nested = key.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), '...');
    throw new FltsError(
      'FLTS_CONFIG_UNKNOWN_KEY',
      `Unknown setting(s) in the config file: ${firstFew(dotted.map((entry) => quotedText(clip(entry.path))), LISTED_NAMES)}: a key holding a dot names no setting, for the file nests settings by their path: write ${quotedText(clip(key))} as ${shownText(clip(JSON.stringify(nested).slice(1, -1), 4 * QUOTED_CHARS))}.`,
      { details: { keys: dotted.slice(0, LISTED_NAMES).map((entry) => entry.path), count: dotted.length } },
    );
  }
  const known = new Set(specs.map((spec) => spec.path));
  const settingsIn = (group: string): string[] => specs.map((spec) => spec.path).filter((path) => path.startsWith(`${group}.`));
  // Every path that holds settings (training, training.prophet), found once: a file of 200,000 keys asked each of them.
  const groupPaths = new Set(specs.flatMap((spec) => spec.path.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  const leaves = collectLeafPaths(file, depth).filter((path) => !known.has(path) && !path.startsWith('$'));
  // A group of settings ("training") is none itself: empty, it sets nothing; a value in its place is mistyped, not unknown.
  const groups = leaves.filter((path) => groupPaths.has(path));
  const mistyped = groups.find((path) => !isEmptyObject(getPath(file, path)));
  if (mistyped !== undefined) {
    const inside = settingsIn(mistyped);
    const example = inside[0].slice(mistyped.length + 1).split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), '...');
    throw new FltsError(
      'FLTS_CONFIG_INVALID_VALUE',
      `${mistyped} in the config file = ${JSON.stringify(getPath(file, mistyped))} is not valid: it is a group of settings (${inside.slice(0, 3).join(', ')}${inside.length > 3 ? ', ...' : ''}), written as an object of them, e.g. "${mistyped.split('.').pop()}": ${JSON.stringify(example)}.`,
      { details: { setting: mistyped } },
    );
  }
  const unknown = leaves.filter((path) => !groupPaths.has(path));
  if (unknown.length > 0) {
    // The first few, each with the setting it may mean: a file of 200,000 unknown keys was compared key by key with
    // every setting's name for minutes, to print them all.
    const named = unknown.slice(0, LISTED_NAMES).map((path) => {
      const meant = meantSettings(path, [...known]);
      const shown = shownText(clip(path));
      return meant.length > 0 ? `${shown} (did you mean ${meant.join(' or ')}?)` : shown;
    });
    throw new FltsError('FLTS_CONFIG_UNKNOWN_KEY', `Unknown setting(s) in the config file: ${firstFew(named, LISTED_NAMES, unknown.length)}.`, { details: { keys: unknown.slice(0, LISTED_NAMES), count: unknown.length } });
  }
}

/** The profile whose defaults apply: the `profile` setting's own layers (flag > environment > file). */
function resolveProfile(options: ResolveSettingsOptions, specs: readonly SettingSpec[]): SettingProfile {
  const spec = specs.find((candidate) => candidate.path === 'profile');
  if (!spec) return 'default';
  const env = options.env ?? {};
  const envName = spec.env?.find((name) => env[name] !== undefined);
  const flag = options.flags?.profile;
  if (flag !== undefined) return parseSettingText(spec, String(flag), 'flag') as SettingProfile;
  if (envName !== undefined) return parseSettingText(spec, env[envName] as string, 'env', envName) as SettingProfile;
  const fromFile = getPath(options.file, 'profile');
  return fromFile !== undefined ? (validateSettingValue(spec, fromFile, 'file') as SettingProfile) : (spec.default as SettingProfile);
}

/** Whether a layer sets the value: present, and not an empty value that the spec counts as unset. */
function isGiven(spec: SettingSpec, value: unknown): boolean {
  return value !== undefined && !(spec.emptyIsUnset && value === '');
}

/** The strings inside a value as given (a secret typed as an object or a list is as secret). */
function stringsIn(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return [value, value.trim()];
  if (depth > 4 || value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap((item) => stringsIn(item, depth + 1));
}

/**
 * Remembers the secrets a layer gives, before its value is validated (a refusal may quote it) and whether or not a
 * later layer replaces it: every output masks them from here on (redactSecrets, the logger).
 */
function rememberGiven(spec: SettingSpec, value: unknown): void {
  if (spec.secret) rememberSecrets(stringsIn(value));
  else if (spec.carriesCredentials) rememberSecrets(stringsIn(value).flatMap(credentialsIn));
}

/**
 * Remembers the secrets the environment holds in every variable a secret or credential-carrying setting is read from,
 * the ones a later name or layer overrides too (AWS_SECRET_ACCESS_KEY beside MINIO_ROOT_PASSWORD, which an S3 or AWS
 * library may still read): called as the process starts, so that what it prints before its settings resolve (a
 * refused command line, a help text quoting a value) is masked of them as well.
 */
export function rememberSecretsOfEnv(env: Readonly<Record<string, string | undefined>>, specs: readonly SettingSpec[] = ALL_SPECS): void {
  for (const spec of specs) {
    if (!spec.secret && !spec.carriesCredentials) continue;
    for (const name of spec.env ?? []) if (typeof env[name] === 'string' && env[name] !== '') rememberGiven(spec, env[name]);
  }
}

/** profile defaults < config file < environment < flags; every value validated against its spec. */
export function resolveSettings(options: ResolveSettingsOptions = {}): ResolvedSettings {
  const specs = options.specs ?? ALL_SPECS;
  const env = options.env ?? {};
  if (options.file) assertKnownFileKeys(options.file, specs);
  const profile = resolveProfile(options, specs);
  const tree: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  const envNames: Record<string, string> = {};
  const warnings: SettingWarning[] = [];
  for (const spec of specs) {
    let value: unknown = spec.path in PROFILE_DEFAULTS[profile] ? PROFILE_DEFAULTS[profile][spec.path] : spec.default;
    let source: SettingSource = 'default';
    const fromFile = getPath(options.file, spec.path);
    if (isGiven(spec, fromFile)) {
      rememberGiven(spec, fromFile);
      value = validateSettingValue(spec, fromFile, 'file');
      source = 'file';
    }
    const envName = spec.env?.find((name) => isGiven(spec, env[name]));
    if (envName !== undefined) {
      rememberGiven(spec, env[envName]);
      value = parseSettingText(spec, env[envName] as string, 'env', envName);
      if (spec.envRepeatsDropped) {
        const dropped = droppingRepeats(spec, value as string[], envName);
        value = dropped.items;
        if (dropped.warning) warnings.push(dropped.warning);
      }
      source = 'env';
      envNames[spec.path] = envName;
    }
    const fromFlag = options.flags?.[spec.path];
    if (isGiven(spec, fromFlag)) {
      rememberGiven(spec, fromFlag);
      value = typeof fromFlag === 'string' && spec.type !== 'string' ? parseSettingText(spec, fromFlag, 'flag') : validateSettingValue(spec, fromFlag, 'flag');
      source = 'flag';
    }
    setPath(tree, spec.path, value);
    sources[spec.path] = source;
  }
  const settings = tree as unknown as Settings;
  // A basic-auth pair goes out as base64 of user:password, which masks only whole.
  for (const [user, password] of [['tracking.username', 'tracking.password'], ['bus.kafka.sasl.username', 'bus.kafka.sasl.password']]) {
    const pair = [getPath(tree, user), getPath(tree, password)];
    if (sources[password] !== 'default' && pair.every((part) => typeof part === 'string' && part !== '')) rememberSecrets([pair.join(':')]);
  }
  // Settings that each take a valid value but contradict each other: refused here, before anything acts on one.
  const conflict = settings.tracking ? trackingTlsConflict(settings.tracking) : undefined;
  if (conflict) throw conflict;
  const lookalike = identifierLookalikeWarning(settings.identifier, sources.identifier, envNames.identifier);
  if (lookalike) warnings.push(lookalike);
  return { settings, sources, envNames, warnings };
}

export function defaultSettings(): Settings {
  return resolveSettings().settings;
}

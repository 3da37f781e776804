import { MASK, redactSecrets } from '../redact.js';
import type { SettingSource, SettingSpec } from './specs/setting-spec.js';
import type { ResolvedSettings } from './settings.js';
import { ALL_SPECS } from './specs/index.js';
import { PROFILE_DEFAULTS } from './specs/profiles.js';

/** One resolved setting as `flts config show` prints it. */
export interface SettingRow {
  path: string;
  /** Secrets are masked; URLs lose their credentials. */
  value: unknown;
  source: SettingSource;
  /** The variable that set it, when the source is the environment. */
  env?: string;
  /** The profile whose default it is, when a profile other than `default` replaced the built-in default. */
  profile?: string;
  secret: boolean;
}

function shownValue(spec: SettingSpec, value: unknown): unknown {
  if (spec.secret) return value === '' || value === null ? value : MASK;
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? redactSecrets(item) : item));
  return value;
}

function valueAt(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), tree);
}

/**
 * Every setting with its value and the layer it came from (default, file, env, flag), secrets masked; a default
 * that the profile set (`--profile reference`) names the profile, so it is not taken for the built-in one.
 */
export function describeSettings(resolved: ResolvedSettings, specs: readonly SettingSpec[] = ALL_SPECS): SettingRow[] {
  const profile = resolved.settings.profile;
  const profileDefaults: Readonly<Record<string, unknown>> = PROFILE_DEFAULTS[profile] ?? {};
  return specs.map((spec) => {
    const source = resolved.sources[spec.path] ?? 'default';
    const env = resolved.envNames[spec.path];
    const fromProfile = source === 'default' && spec.path in profileDefaults;
    return {
      path: spec.path,
      value: shownValue(spec, valueAt(resolved.settings, spec.path)),
      source,
      ...(env ? { env } : {}),
      ...(fromProfile ? { profile } : {}),
      secret: spec.secret === true,
    };
  });
}

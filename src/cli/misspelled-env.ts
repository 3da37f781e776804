import { ALL_SPECS } from '../core/config/specs/index.js';
import { closestName } from './closest-name.js';

const SETTING_ENV_NAMES: readonly string[] = [...new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []))];
const FLTS_SETTING_ENV_NAMES = SETTING_ENV_NAMES.filter((name) => name.startsWith('FLTS_'));

/**
 * The FLTS_ variables of the environment that name no setting but are within two edits of one (FLTS_SERVE_PROT
 * for FLTS_SERVE_PORT), with the setting's variable: a typo the settings would otherwise pass over without a word,
 * where a config file's unknown key is refused. Variables further from every setting's are left alone: scripts,
 * tests and deployments keep FLTS_ variables of their own (FLTS_INFRA_DIR, FLTS_OPERATOR, ...).
 */
export function misspelledEnvNames(env: NodeJS.ProcessEnv): Array<{ name: string; meant: string }> {
  const found: Array<{ name: string; meant: string }> = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('FLTS_') || SETTING_ENV_NAMES.includes(name)) continue;
    const meant = closestName(name, FLTS_SETTING_ENV_NAMES);
    if (meant) found.push({ name, meant });
  }
  return found;
}

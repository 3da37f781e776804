import { ALL_SPECS } from '../core/config/specs/index.js';
import { TOOL_ENV_NAMES } from '../core/config/tool-env.js';
import { editDistance } from '../core/closest-name.js';

const SETTING_ENV_NAMES: readonly string[] = [...new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []))];
const SETTING_NAMES = new Set(SETTING_ENV_NAMES);
const MAX_SUGGESTIONS = 3;

/** The words of a variable's name past the FLTS_ prefix, the one every candidate shares. */
function words(name: string): string[] {
  return name.replace(/^FLTS_/, '').split('_').filter(Boolean);
}

/**
 * The setting variables an unknown FLTS_ name most plausibly meant, best first and at most three: those a few edits
 * away (one for a name of up to four letters, else two, or one per seven letters of a longer name: CONNECT for
 * CONNECTION is three), else those sharing at least half of its words (FLTS_SERVE_TIMEOUT_MS: the serve timeouts).
 * Reference names are compared without the prefix, so FLTS_EPOCH finds EPOCHS.
 */
export function envSuggestions(name: string): string[] {
  const core = name.replace(/^FLTS_/, '');
  if (core.length > 100) return [];
  const limit = core.length <= 4 ? 1 : Math.max(2, Math.floor(core.length / 7));
  const scored = SETTING_ENV_NAMES.map((candidate) => ({ candidate, distance: editDistance(core, candidate.replace(/^FLTS_/, '')) }));
  const near = scored.filter((s) => s.distance <= limit).sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate));
  if (near.length > 0) return near.slice(0, MAX_SUGGESTIONS).map((s) => s.candidate);
  const typed = new Set(words(name));
  const sharing = scored
    .map((s) => ({ ...s, shared: words(s.candidate).filter((word) => typed.has(word)).length }))
    .filter((s) => s.shared > 0 && s.shared * 2 >= typed.size)
    .sort((a, b) => b.shared - a.shared || a.distance - b.distance || a.candidate.localeCompare(b.candidate));
  return sharing.slice(0, MAX_SUGGESTIONS).map((s) => s.candidate);
}

/** One FLTS_ variable of the environment flts does not read, with the setting variables it may have meant. */
export interface UnknownEnvName {
  name: string;
  meant: string[];
  reason: string;
}

/**
 * The FLTS_ variables of the environment that are neither a setting's nor one of the project's tool variables
 * (src/core/config/tool-env.ts): a typo the settings would otherwise pass over without a word, where a config file's
 * unknown key is refused. Only names: a value may be a secret.
 */
export function unknownEnvNames(env: NodeJS.ProcessEnv): UnknownEnvName[] {
  const found: UnknownEnvName[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('FLTS_') || SETTING_NAMES.has(name) || Object.hasOwn(TOOL_ENV_NAMES, name)) continue;
    const meant = envSuggestions(name);
    const reason = meant.length > 0
      ? `${name} names no flts setting and is ignored; did you mean ${meant.join(' or ')}? docs/config.md lists every setting's variable`
      : `${name} is not a flts setting and is ignored; docs/config.md lists every setting's variable`;
    found.push({ name, meant, reason });
  }
  return found;
}

const warned = new Set<string>();

/** unknownEnvNames less those already warned about in this process, which a second command run in it would repeat. */
export function unknownEnvNamesOnce(env: NodeJS.ProcessEnv): UnknownEnvName[] {
  const fresh = unknownEnvNames(env).filter(({ name }) => !warned.has(name));
  for (const { name } of fresh) warned.add(name);
  return fresh;
}

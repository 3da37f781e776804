import { FltsError } from '../../errors.js';
import { clip, shownText } from '../../clip-text.js';
import { closestName } from '../../closest-name.js';
import { redactSecrets } from '../../redact.js';

/**
 * A setting is declared once: where it lives in the settings tree, its type, default, the environment
 * names that set it (the reference system's names first) and what values it accepts. Parsing, validation,
 * layering and docs/config.md are all driven by these declarations.
 */
export type SettingType = 'boolean' | 'integer' | 'number' | 'string' | 'list';

export interface SettingSpec {
  /** Dot path in the settings tree, e.g. `preprocess.handleNans.threshold`. */
  readonly path: string;
  readonly type: SettingType;
  readonly default: unknown;
  readonly description: string;
  readonly env?: readonly string[];
  /** Accepted values for strings (and for every element of a list). */
  readonly choices?: readonly string[];
  /** Environment text is upper/lower-cased before validation, like the reference system. */
  readonly envCase?: 'lower' | 'upper' | 'trim';
  readonly min?: number;
  /** `min` itself is not accepted (a learning rate must be above 0). */
  readonly exclusiveMin?: boolean;
  readonly max?: number;
  /** `max` itself is not accepted (an interval level of 1 is unbounded). */
  readonly exclusiveMax?: boolean;
  /** Lists: fewest items accepted (an empty list of models trains nothing). */
  readonly minItems?: number;
  /** Lists: most items accepted (each interval level multiplies what every forecast stores and returns). */
  readonly maxItems?: number;
  /** Lists: every item is a number, within `min`/`max`; the items stay text. */
  readonly numberItems?: boolean;
  /** Lists: an item given twice is refused rather than quietly acted on twice (a target forecast twice). */
  readonly distinct?: boolean;
  /**
   * Lists with `distinct`: the reference reads this variable as a set, so a deployment's environment may repeat an
   * item and still mean one list. From the environment the repeat is dropped and warned about (SettingWarning); from
   * a config file or a flag, flts's own forms, it is refused as for any other list.
   */
  readonly envRepeatsDropped?: boolean;
  /** `null` is a valid value (JSON null in a file, an empty string in the environment). */
  readonly nullable?: boolean;
  /** An empty value (`FLTS_HOME=`, `""` in the file) leaves the setting to the layers below, as if not given; the CLI refuses such a flag given empty. */
  readonly emptyIsUnset?: boolean;
  /** Secrets are never echoed back in error messages or `--json` output. */
  readonly secret?: boolean;
  /** An address that may carry `user:password@` (a URL's userinfo, a broker's): its password is as secret as one. */
  readonly carriesCredentials?: boolean;
  /**
   * Strings: the form a non-empty value must have (a name that becomes part of object keys), and how to say it; with
   * `problem`, where a value breaks it, said after the form ("holds U+200B ZERO WIDTH SPACE at position 2").
   */
  readonly pattern?: { readonly regex: RegExp; readonly text: string; readonly problem?: (value: string) => string | undefined };
}

export type SettingSource = 'default' | 'file' | 'env' | 'flag';

/**
 * A number as decimal text (1, -0.5, .5, 1e-3), or NaN. Number() also reads 0x10, 0b11 and 0o7 (16, 3, 7), which
 * the reference's Python float() refuses and nobody means as a learning rate: a typo would change a result silently.
 */
function decimalNumber(text: string): number {
  return /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(text) ? Number(text) : Number.NaN;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

function describeOrigin(spec: SettingSpec, source: SettingSource, envName?: string): string {
  if (source === 'env' && envName) return `${envName} (setting ${spec.path})`;
  if (source === 'flag') return `flag for ${spec.path}`;
  if (source === 'file') return `${spec.path} in the config file`;
  return spec.path;
}

function reject(spec: SettingSpec, source: SettingSource, raw: unknown, accepted: string, envName?: string): never {
  const shown = spec.secret ? '<hidden>' : shownText(clip(redactSecrets(JSON.stringify(raw) ?? String(raw))));
  throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `${describeOrigin(spec, source, envName)} = ${shown} is not valid: expected ${accepted}.`, {
    details: { setting: spec.path, source, env: envName, accepted },
  });
}

function acceptedText(spec: SettingSpec): string {
  const choices = spec.choices?.map((c) => JSON.stringify(c)).join(', ');
  const range = spec.min !== undefined || spec.max !== undefined ? ` in ${spec.exclusiveMin ? '(' : '['}${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}${spec.exclusiveMax ? ')' : ']'}` : '';
  if (spec.type === 'list') {
    const items = choices ? ` of ${choices}` : spec.numberItems ? ` of numbers${range}` : '';
    const count = spec.maxItems !== undefined ? ` of ${spec.minItems ? `${spec.minItems} to ` : 'at most '}${spec.maxItems}` : spec.minItems ? ` of at least ${spec.minItems}` : '';
    return `a comma-separated list${count}${items}${spec.distinct ? ', each given once' : ''}`;
  }
  if (choices) return `one of ${choices}`;
  switch (spec.type) {
    case 'boolean':
      return 'a boolean (1/true/yes/on or 0/false/no/off)';
    case 'integer':
      return `an integer${range}`;
    case 'number':
      return `a number${range}`;
    default:
      return 'a string';
  }
}

/** The items of a comma list, trimmed; an empty (or blank) text is the empty list. */
function listItems(text: string): string[] {
  return text.trim() === '' ? [] : text.split(',').map((item) => item.trim());
}

/**
 * An empty item (`0.8,,0.95`, a trailing comma) is refused rather than dropped: it is most often a value that a
 * template or a shell variable left out, and dropping it would quietly run with one item fewer than meant.
 */
function refuseEmptyItems(spec: SettingSpec, source: SettingSource, raw: unknown, items: string[], envName?: string): void {
  const empty = items.findIndex((item) => item.trim() === '');
  if (empty >= 0) reject(spec, source, raw, `${acceptedText(spec)} (item ${empty + 1} of ${items.length} is empty)`, envName);
}

function checkItems(spec: SettingSpec, source: SettingSource, raw: unknown, items: string[], envName?: string): string[] {
  if (spec.minItems !== undefined && items.length < spec.minItems) reject(spec, source, raw, acceptedText(spec), envName);
  if (spec.maxItems !== undefined && items.length > spec.maxItems) reject(spec, source, raw, `${acceptedText(spec)} (${items.length} given)`, envName);
  if (spec.numberItems) for (const item of items) checkRange(spec, source, raw, decimalNumber(item), envName);
  if (!spec.distinct || (source === 'env' && spec.envRepeatsDropped)) return items;
  const [repeat] = repeatsOf(spec, items);
  if (repeat !== undefined) {
    const first = repeat.first === repeat.item ? '' : `, first as ${JSON.stringify(repeat.first)}`;
    reject(spec, source, raw, `${acceptedText(spec)} (${JSON.stringify(repeat.item)} is given more than once${first})`, envName);
  }
  return items;
}

/** An item of a list that an earlier one already named, and that earlier item as it was written. */
export interface RepeatedItem {
  item: string;
  /** Its place in the list. */
  index: number;
  first: string;
}

/**
 * The items that repeat an earlier one, compared as the setting reads them: case-folded as the environment's text is
 * (a config file's ["trainer", "Trainer"] names one role twice too), and numbers by value (0.8 and 0.80 are one level).
 */
export function repeatsOf(spec: SettingSpec, items: readonly string[]): RepeatedItem[] {
  const sameAs = (item: string): string => (spec.numberItems ? String(decimalNumber(item)) : spec.envCase === 'trim' ? item : applyCase(spec, item));
  const firstBy = new Map<string, string>();
  const repeats: RepeatedItem[] = [];
  items.forEach((item, index) => {
    const first = firstBy.get(sameAs(item));
    if (first === undefined) firstBy.set(sameAs(item), item);
    else repeats.push({ item, index, first });
  });
  return repeats;
}

function checkRange(spec: SettingSpec, source: SettingSource, raw: unknown, value: number, envName?: string): number {
  const belowMin = spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min);
  const aboveMax = spec.max !== undefined && (spec.exclusiveMax ? value >= spec.max : value > spec.max);
  if (!Number.isFinite(value) || belowMin || aboveMax) reject(spec, source, raw, acceptedText(spec), envName);
  return value;
}

function checkChoice(spec: SettingSpec, source: SettingSource, raw: unknown, value: string, envName?: string): string {
  if (spec.choices && !spec.choices.includes(value)) {
    // `--models LSTMM` was answered with the whole list of choices alone, leaving the reader to find the typo.
    const meant = spec.secret ? undefined : closestName(value, spec.choices);
    reject(spec, source, raw, meant === undefined ? acceptedText(spec) : `${acceptedText(spec)} (${JSON.stringify(value)} is not one: did you mean ${JSON.stringify(meant)}?)`, envName);
  }
  if (spec.pattern && value !== '') {
    // `problem`, when there is one, is the check: the regex only states the rule.
    const problem = spec.pattern.problem ? spec.pattern.problem(value) : spec.pattern.regex.test(value) ? undefined : '';
    if (problem !== undefined) reject(spec, source, raw, problem === '' ? spec.pattern.text : `${spec.pattern.text} (it ${problem})`, envName);
  }
  return value;
}

function applyCase(spec: SettingSpec, text: string): string {
  if (spec.envCase === 'lower') return text.trim().toLowerCase();
  if (spec.envCase === 'upper') return text.trim().toUpperCase();
  if (spec.envCase === 'trim') return text.trim();
  return text;
}

/** Parses environment text (or a CLI flag's string) into the setting's type. */
export function parseSettingText(spec: SettingSpec, text: string, source: SettingSource, envName?: string): unknown {
  if (spec.nullable && text === '') return null;
  switch (spec.type) {
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return reject(spec, source, text, acceptedText(spec), envName);
    }
    case 'integer': {
      if (!/^\s*[-+]?\d+\s*$/.test(text)) reject(spec, source, text, acceptedText(spec), envName);
      // Past 2^53 the text no longer names one number: 99999999999999999999 would be read as 1e20.
      const value = Number.parseInt(text, 10);
      if (!Number.isSafeInteger(value)) reject(spec, source, text, acceptedText(spec), envName);
      return checkRange(spec, source, text, value, envName);
    }
    case 'number': {
      const value = decimalNumber(text);
      if (!Number.isFinite(value)) reject(spec, source, text, acceptedText(spec), envName);
      return checkRange(spec, source, text, value, envName);
    }
    case 'list': {
      const items = listItems(text).map((item) => applyCase(spec, item));
      refuseEmptyItems(spec, source, text, items, envName);
      items.forEach((item) => checkChoice(spec, source, text, item, envName));
      return checkItems(spec, source, text, items, envName);
    }
    default:
      return checkChoice(spec, source, text, applyCase(spec, text), envName);
  }
}

/** Validates a typed value (from a config file or a programmatic override). */
export function validateSettingValue(spec: SettingSpec, value: unknown, source: SettingSource): unknown {
  if (value === null && spec.nullable) return null;
  switch (spec.type) {
    case 'boolean':
      if (typeof value !== 'boolean') reject(spec, source, value, acceptedText(spec));
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) reject(spec, source, value, acceptedText(spec));
      return checkRange(spec, source, value, value as number);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) reject(spec, source, value, acceptedText(spec));
      return checkRange(spec, source, value, value as number);
    case 'list': {
      const items = typeof value === 'string' ? listItems(value) : value;
      if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) reject(spec, source, value, acceptedText(spec));
      refuseEmptyItems(spec, source, value, items as string[]);
      (items as string[]).forEach((item) => checkChoice(spec, source, value, item));
      return checkItems(spec, source, value, items as string[]);
    }
    default:
      if (typeof value !== 'string') reject(spec, source, value, acceptedText(spec));
      return checkChoice(spec, source, value, value as string);
  }
}

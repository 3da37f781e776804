/**
 * Python `json.dumps(value, sort_keys=True, separators=(",", ":"))` byte for byte, so hashes of canonical
 * configs match the reference system. JS numbers carry no int/float distinction, so floats are marked with
 * `pyFloat()`; a bare number must be an integer.
 */

const PY_FLOAT = Symbol('pyFloat');

export interface PyFloat {
  readonly [PY_FLOAT]: true;
  readonly value: number;
}

export function pyFloat(value: number): PyFloat {
  return { [PY_FLOAT]: true, value };
}

export function isPyFloat(value: unknown): value is PyFloat {
  return typeof value === 'object' && value !== null && PY_FLOAT in value;
}

export type PyJson = null | boolean | number | string | PyFloat | PyJson[] | { [key: string]: PyJson };

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents -4 <= e < 16. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
  }
  const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
  const expSign = exponent < 0 ? '-' : '+';
  return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** Python's `ensure_ascii=True` string encoding. */
export function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function canonicalPythonJson(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return pythonJsonString(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`canonical JSON: ${value} is not an integer; wrap floats in pyFloat()`);
    return String(value);
  }
  if (isPyFloat(value)) return pythonFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(canonicalPythonJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${pythonJsonString(key)}:${canonicalPythonJson(value[key])}`).join(',')}}`;
}

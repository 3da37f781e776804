import { FltsError } from '../errors.js';

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** What is wrong with a bucket name under S3's naming rules (lower case, 3-63 chars), or undefined when nothing is. */
export function bucketNameProblem(bucket: string): string | undefined {
  return BUCKET_PATTERN.test(bucket) && !bucket.includes('..') ? undefined : 'use 3-63 lower-case letters, digits, "." or "-"';
}

/** S3 bucket naming rules, so a bucket valid here is valid on S3 too. */
export function assertBucketName(bucket: string): void {
  const problem = bucketNameProblem(bucket);
  if (problem) throw new FltsError('FLTS_STORE_KEY_INVALID', `Invalid bucket name ${JSON.stringify(bucket)}: ${problem}.`, { details: { bucket } });
}

/** Half of a surrogate pair without its other half: no character, so no UTF-8 spelling. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What is wrong with an object key, or undefined when nothing is. Object keys are S3 keys, not paths: relative,
 * "/"-separated, no empty, "." or ".." segments, no backslashes or NUL, and no lone surrogate: the filesystem store
 * would name the file with U+FFFD in its place (another object than the key names), and an S3 request cannot carry
 * it in its URL at all.
 */
export function objectKeyProblem(key: string): string | undefined {
  return key === ''
    ? 'is empty'
    : key.startsWith('/') || /^[A-Za-z]:/.test(key)
      ? 'is absolute'
      : key.includes('\\')
        ? 'contains a backslash'
        : key.includes('\0')
          ? 'contains a NUL byte'
          : key.split('/').some((segment) => segment === '..')
            ? 'contains ".."'
            : key.split('/').some((segment) => segment === '' || segment === '.')
              ? 'has an empty or "." segment'
              : LONE_SURROGATE.test(key)
                ? 'contains a lone surrogate (text that is not Unicode)'
                : Buffer.byteLength(key) > 1024
                  ? 'is longer than 1024 bytes'
                  : undefined;
}

function keyErrorCode(problem: string): 'FLTS_STORE_KEY_OUTSIDE_ROOT' | 'FLTS_STORE_KEY_INVALID' {
  return problem === 'is absolute' || problem === 'contains ".."' ? 'FLTS_STORE_KEY_OUTSIDE_ROOT' : 'FLTS_STORE_KEY_INVALID';
}

/** Checked for every store, so a key that works embedded also works on S3 and can never escape the filesystem store's root. */
export function assertObjectKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem) throw new FltsError(keyErrorCode(problem), `Invalid object key ${JSON.stringify(key)}: it ${problem}.`, { details: { key } });
}

/**
 * Refuses a listing prefix that no key checked by assertObjectKey could start with ("" lists everything): a lone
 * surrogate reaches no S3 URL, and the filesystem store must refuse what the S3 store refuses.
 */
export function assertKeyPrefix(prefix: string): void {
  if (prefix === '') return;
  // Checked as the shortest key under it, so a prefix ending inside a segment ("runs/2026-") or at a "/" both pass.
  const problem = objectKeyProblem(`${prefix}x`);
  if (problem) throw new FltsError(keyErrorCode(problem), `Invalid key prefix ${JSON.stringify(prefix)}: it ${problem}, so no object key starts with it.`, { details: { key: prefix } });
}

export function joinKey(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

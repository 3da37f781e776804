import { characterName, INVISIBLE_CHAR_CLASS, MISLEADING_CHAR_RANGES, misleadingCharacter } from '../../clip-text.js';
import { CONTEXTUAL_CLASS, firstUnseenCharacter } from '../../unseen-characters.js';
import type { SettingSpec } from './setting-spec.js';

/** Characters an identifier may have, counted as a user counts them (an emoji is one, two UTF-16 units). */
export const MAX_IDENTIFIER_CHARS = 128;

/**
 * What a deployment identifier may be, wherever it arrives from (the setting, a claim's `identifier` field, a request's
 * series). One folder name, not a charset: spaces, ':' or a leading '_' made working scopes before this was checked,
 * and refusing them would cut an upgraded deployment off its own promotions and logs. A letter then ':' first (`z:1`)
 * is a drive-letter path to every store (objectKeyProblem: "is absolute"), so such a scope never worked: refused here,
 * where the setting is named, rather than deep in a command as FLTS_STORE_KEY_OUTSIDE_ROOT. Control characters, line
 * separators and bidirectional controls (U+202E shows the text after it turned round) would mislead every log line and
 * listing that shows the scope, as a column name's would (read-table.ts); the invisible format characters and the
 * spaces other than U+0020 and the other characters a renderer shows as nothing (a Hangul filler, a stray variation
 * selector) made `a\u200Bb` or `Poble\u00A0Sec` a scope of its own that shows as `ab` or `Poble Sec` does
 * (clip-text's one class of both). The joiners, variation selectors and tags a name needs where a standard gives them a use (a
 * Persian word, a conjunct, 👨‍👩‍👧‍👦, ❤️, a flag) are taken there only. A lone surrogate names its folder with U+FFFD in its
 * place, another's. The regex is the rule as docs/config.md states it, less where those few characters may stand, which
 * no pattern says; identifierProblem says where a value breaks it.
 */
export const IDENTIFIER_PATTERN = {
  regex: new RegExp(`^(?!\\.\\.?$)(?![A-Za-z]:)(?:[${CONTEXTUAL_CLASS}]|[^/\\\\${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}\\uD800-\\uDFFF]){1,${MAX_IDENTIFIER_CHARS}}$`, 'u'),
  text: `a folder name of up to ${MAX_IDENTIFIER_CHARS} characters: no "/", "\\", invisible (U+200B; joiners only where they join), control, line-separator or bidirectional characters, no space but U+0020, not "." or "..", not opening with a drive letter ("z:")`,
};

/** No separator, misleading or unseen character, or lone surrogate: what identifierProblem finds nothing in. */
const PLAIN_IDENTIFIER = new RegExp(`^[^/\\\\${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}\\uD800-\\uDFFF]*$`, 'u');

/**
 * Why `value` is no deployment identifier, as the end of a sentence about it ("holds U+200B ZERO WIDTH SPACE at
 * position 2"), or undefined when it is one ("" is the global scope): the one check of the setting, its flag, a bus
 * claim and a request's series, so each refuses the same values saying the same thing. Positions count characters
 * from 1, as the length does. `lookalikes: 'allow'` lets the characters that only make a name look like another
 * (INVISIBLE_CHAR_CLASS, wherever they are) pass: a deployment's own IDENTIFIER holding one named the scope of
 * everything it stored before they were refused (the setting warns instead, identifierLookalike), and its claims on the
 * bus carry it.
 */
export function identifierProblem(value: string, { lookalikes = 'refuse' }: { lookalikes?: 'refuse' | 'allow' } = {}): string | undefined {
  if (value === '') return undefined;
  if (value === '.' || value === '..') return 'names the folder itself or its parent';
  if (/^[A-Za-z]:/.test(value)) return `opens with a drive letter ("${value.slice(0, 2)}"), which the store reads as an absolute path`;
  // Most names hold nothing the loop below looks for: one scan, on the path of every request's series.
  if (value.length <= MAX_IDENTIFIER_CHARS && PLAIN_IDENTIFIER.test(value)) return undefined;
  const unseen = lookalikes === 'allow' ? undefined : firstUnseenCharacter(value);
  let chars = 0;
  for (const char of value) {
    chars += 1;
    if (char === '/' || char === '\\') return `holds "${char}" at position ${chars}`;
    if (unseen?.index === chars - 1) return `holds ${characterName(char)} at position ${chars}${unseen.allowed ? `, allowed ${unseen.allowed}` : ''}`;
    if (misleadingCharacter(char) !== undefined || /^[\uD800-\uDFFF]$/.test(char)) return `holds ${characterName(char)} at position ${chars}`;
  }
  return chars > MAX_IDENTIFIER_CHARS ? `is ${chars} characters long` : undefined;
}

/**
 * Where an identifier that passes with `lookalikes: 'allow'` would be refused without: the character that makes it
 * look like another name ("holds U+00A0 NO-BREAK SPACE at position 6"), or undefined.
 */
export function identifierLookalike(value: string): string | undefined {
  return identifierProblem(value, { lookalikes: 'allow' }) === undefined ? identifierProblem(value) : undefined;
}

/** Whether `value` is a deployment identifier ("" is the global scope): the one rule for the setting, flags, bus messages and requests. */
export function isIdentifier(value: string): boolean {
  return identifierProblem(value) === undefined;
}

/** Where flts keeps its state, and how it talks to the outside world. */
export const RUNTIME_SPECS: readonly SettingSpec[] = [
  { path: 'profile', type: 'string', default: 'default', choices: ['default', 'reference'], envCase: 'lower', env: ['FLTS_PROFILE'], description: 'Set of defaults: default = flts\'s, chosen by measurement; reference = the reference deployment\'s configuration exactly. Files, environment and flags still override either.' },
  { path: 'home', type: 'string', default: '.flts', emptyIsUnset: true, env: ['FLTS_HOME'], description: 'Data directory of the embedded (filesystem) store; empty is the same as unset.' },
  {
    path: 'identifier',
    type: 'string',
    default: '',
    env: ['IDENTIFIER'],
    pattern: { ...IDENTIFIER_PATTERN, problem: (value) => identifierProblem(value, { lookalikes: 'allow' }) },
    description: 'Deployment identifier; scopes promotion pointers and logs ("" = global). One folder name of up to 128 characters (an emoji is one): no "/" or "\\", no control, line-separator or bidirectional characters (U+202E), not "." or "..", and not opening with a drive letter ("z:1", which the store reads as an absolute path; "cell:7" is fine); claims on the bus are held to the same rule. An invisible format character (U+200B ZERO WIDTH SPACE, U+FEFF, U+00AD SOFT HYPHEN), another character shown as nothing (a Hangul filler, U+3164), a space but U+0020 (U+00A0 NO-BREAK SPACE), or a joiner or variation selector out of the place a standard gives it (UAX #31 section 2.3: U+200C between joining letters or a virama and a letter, U+200D in an emoji sequence or beside the virama of a conjunct; U+FE0F or U+FE0E after an emoji that has a text and an emoji form) makes a scope that shows as another: taken here with a warning (settings_identifier_lookalike, naming the character and where it is), since it names what a deployment stored under it, and carried by its claims; a request\'s series `identifier` (POST /predict, /actuals, the inference protocol\'s parameter) holding one is refused ("U+200B ZERO WIDTH SPACE at position 5") unless it is the deployment\'s own.',
  },
  { path: 'logLevel', type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], envCase: 'lower', env: ['FLTS_LOG_LEVEL', 'LOG_LEVEL'], description: 'Structured log level (JSON lines on stderr). Commands that print their own outcome (train, promote, predict...) log only warnings and errors unless a level is set, then as plain `warning: <reason> (<event>)` lines in text mode (JSON lines under --json); serve and the daemon log JSON lines at this level.' },
  {
    path: 'instance.podUid',
    type: 'string',
    default: '',
    envCase: 'trim',
    env: ['FLTS_POD_UID'],
    description: 'Uid of the Kubernetes pod this process runs in (the downward API\'s metadata.uid; the Helm chart sets it on the daemons). With `instance.container`, it lets a container restarted in place (OOMKilled, a failed liveness probe) take over its predecessor\'s leases and mark its RUNNING run KILLED at once rather than after `daemon.leaseStaleMs`: the kubelet never runs two instances of one container of a pod. Must be unique to the pod; "" = not in a pod.',
  },
  { path: 'instance.container', type: 'string', default: '', envCase: 'trim', env: ['FLTS_CONTAINER_NAME'], description: 'Name of the container, within its pod, this process runs in; used only together with `instance.podUid` ("" = unknown).' },
  {
    path: 'instance.idFile',
    type: 'string',
    default: '',
    envCase: 'trim',
    env: ['FLTS_INSTANCE_ID_FILE'],
    pattern: { regex: /^\/[^\u0000-\u001f]*[^/\u0000-\u001f]$/, text: 'an absolute path of a file' },
    description: 'A file in this container\'s own filesystem (its writable layer: never a volume, bind mount or tmpfs) that names the container across its restarts: the first flts process of the container writes a random id there, and every process records it on its runs and leases. A container restarted in place by Docker (restart: unless-stopped, docker restart) keeps the file, while every other container, a replica or a recreated one, has its own; so a run or lease recorded under this id and host name, on this boot, from another pid namespace belongs to an earlier instance of this container and is taken over at once rather than after `daemon.leaseStaleMs`. The Compose file sets it; a file that is not on the root filesystem or cannot be written turns this off. "" = off.',
  },
  {
    path: 'instance.readyFile',
    type: 'string',
    default: '',
    envCase: 'trim',
    env: ['FLTS_READY_FILE'],
    pattern: { regex: /^\/[^\u0000-\u001f]*[^/\u0000-\u001f]$/, text: 'an absolute path of a file' },
    description: 'A file where `flts serve` and `flts daemon` write where they listen, as JSON (`command`, `url`, `health_url`, and `grpc_url` with serve\'s gRPC), once they listen, with the writing process (`pid`, its start, its pid namespace, a random `token`); removed when they stop, if it is still the one they wrote. Only a ready file is ever replaced: anything else at the path (a file of your own, empty or not, a symlink, a FIFO) is left as it is, and the server logs `ready_file_foreign` with the reason and serves without one. While its writer runs, another server given the same file (a `flts serve` run with `docker exec` beside the container\'s own) logs `ready_file_taken` and writes none; a file whose writer is gone (a SIGKILL, a restarted container\'s earlier pid 1) is replaced, and so is one written in another pid namespace, where no process can be asked after: one file per container, never one path shared by containers on a volume. The image sets it (in the container\'s /tmp), and its HEALTHCHECK (bin/healthcheck.js) asks the `health_url` it finds there when the container\'s own server wrote it (its main process or one that process started, still running, in its pid namespace); otherwise (no file, a file of your own, or one a `docker exec` server took first) it works the port out from the command line, environment and config file, which a server on `--port 0` does not tell ("" = no file).',
  },
  { path: 'store.kind', type: 'string', emptyIsUnset: true, default: 'fs', choices: ['fs', 's3'], envCase: 'lower', env: ['FLTS_STORE'], description: 'fs = files under `home`; s3 = an S3-compatible server.' },
  { path: 'store.buckets.dataset', type: 'string', default: 'dataset', env: ['INPUT_BUCKET'], description: 'Bucket of raw datasets.' },
  { path: 'store.buckets.processed', type: 'string', default: 'processed-data', env: ['OUTPUT_BUCKET', 'PROCESSED_BUCKET'], description: 'Bucket of processed data and sidecars.' },
  { path: 'store.buckets.runs', type: 'string', default: 'runs', env: ['FLTS_RUNS_BUCKET'], description: 'Bucket of the run registry (run.json, model, scaler, metrics).' },
  { path: 'store.buckets.promotion', type: 'string', default: 'model-promotion', env: ['PROMOTION_BUCKET'], description: 'Bucket of promotion history and pointers.' },
  { path: 'store.buckets.inferenceLogs', type: 'string', default: 'inference-logs', env: ['INFERENCE_LOG_BUCKET'], description: 'Bucket of JSONL prediction logs.' },
  { path: 'store.objects.trainOutput', type: 'string', default: 'processed_data', env: ['OUTPUT_TRAIN'], description: 'Object name (without .parquet) of processed training data.' },
  { path: 'store.objects.testOutput', type: 'string', default: 'test_processed_data', env: ['OUTPUT_TEST'], description: 'Object name (without .parquet) of processed test data.' },
];

/** The container this process runs in, where the platform names it (all empty elsewhere). */
export interface InstanceSettings {
  podUid: string;
  container: string;
  /** Where this container's restart-surviving id is kept ("" = nowhere); see containerInstanceId. */
  idFile: string;
  /** Where a server says where it listens while it does ("" = nowhere); see writeReadyFile. */
  readyFile: string;
}

export interface StoreSettings {
  kind: 'fs' | 's3';
  buckets: { dataset: string; processed: string; runs: string; promotion: string; inferenceLogs: string };
  objects: { trainOutput: string; testOutput: string };
}

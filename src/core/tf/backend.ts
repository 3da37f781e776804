import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { installTransposedMatMulFix, uninstallTransposedMatMulFix } from './transposed-matmul-fix.js';
import { installWasmSliceFix } from './wasm-slice-fix.js';

export const BACKEND_CHOICES = ['auto', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** The backend flts chose (node = native libtensorflow through @tensorflow/tfjs-node). */
  name: BackendName;
  /** The tfjs backend name as registered ('tensorflow', 'wasm', 'cpu'). */
  tfName: string;
  /** Whether the transposed-matmul kernel fix is active (wasm only). */
  matMulFix: boolean;
  /** Backends tried before this one and why they were not used. */
  skipped: { name: BackendName; reason: string }[];
}

export interface SelectBackendOptions {
  /** Install the transposed BatchMatMul kernel fix on wasm (default true); benchmarks compare both. */
  matMulFix?: boolean;
  logger?: Logger;
}

let current: BackendInfo | undefined;

// A variable specifier keeps TypeScript and bundlers from resolving a package that is usually not installed.
const TFJS_NODE = '@tensorflow/tfjs-node';

async function tryNode(): Promise<string> {
  await import(TFJS_NODE);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend did not initialise');
  return 'tensorflow';
}

/** The wasm binaries ship inside the npm package; in Node they are read from its dist folder, never fetched. */
function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}${path.sep}dist${path.sep}`;
}

async function tryWasm(matMulFix: boolean): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDistDir());
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  installWasmSliceFix();
  if (matMulFix) installTransposedMatMulFix();
  else uninstallTransposedMatMulFix();
  return 'wasm';
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  // The cpu backend's first tensor write prints, through console.warn, an invitation to install tfjs-node: a stray
  // block of lines on the stderr of the CLI (among JSON logs) and of every application using the library. It is
  // the only thing `firstUse` decides.
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  return 'cpu';
}

let selecting: Promise<unknown> = Promise.resolve();

/**
 * Picks the fastest available TensorFlow.js backend (node, else wasm, else cpu) or the forced one.
 * Backend choice is process-wide in tfjs, so the first successful selection is reused afterwards
 * unless a different backend is forced. Selections run one at a time: a second caller while the wasm backend
 * is still initialising (models training side by side) would otherwise see it fail and settle on cpu for all.
 */
export function selectBackend(choice: BackendChoice = 'auto', options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const selected = selecting.then(() => pickBackend(choice, options));
  selecting = selected.catch(() => undefined);
  return selected;
}

async function pickBackend(choice: BackendChoice, options: SelectBackendOptions): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new FltsError('FLTS_BACKEND_UNAVAILABLE', `TensorFlow.js backend "${String(choice)}" is not one of ${BACKEND_CHOICES.join(', ')}.`, { details: { choice, choices: BACKEND_CHOICES } });
  }
  const logger = options.logger ?? silentLogger;
  const matMulFix = options.matMulFix ?? true;
  if (current && (choice === 'auto' || choice === current.name) && (current.name !== 'wasm' || current.matMulFix === matMulFix)) return current;
  const order: BackendName[] = choice === 'auto' ? ['node', 'wasm', 'cpu'] : [choice];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    try {
      const tfName = name === 'node' ? await tryNode() : name === 'wasm' ? await tryWasm(matMulFix) : await tryCpu();
      await tf.ready();
      current = { name, tfName, matMulFix: name === 'wasm' && matMulFix, skipped };
      logger.info({ backend: name, skipped }, 'tf_backend_selected');
      return current;
    } catch (error) {
      skipped.push({ name, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) });
    }
  }
  throw new FltsError('FLTS_BACKEND_UNAVAILABLE', `TensorFlow.js backend "${choice}" is not available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}.`, {
    details: { choice, skipped },
  });
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}

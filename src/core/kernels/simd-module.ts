import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FltsError } from '../errors.js';
import { compiledWorkerScript } from '../worker-script.js';
import { SIMD_KERNEL_FILES } from './simd-wat.js';

export interface SimdKernels {
  gemm(a: number, aRow: number, aStep: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number, pack: number): void;
  sigmoid(p: number, groups: number): void;
  adam(w: number, g: number, m: number, v: number, groups: number, c1: number, c2: number, beta1: number, beta2: number, epsilon: number): void;
  add(dst: number, src: number, groups: number): void;
}

/** The part of the WebAssembly JS API used here (Node has it; the project's type libraries do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: unknown }>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const PAGE = 65536;

export type SimdKernelsVariant = keyof typeof SIMD_KERNEL_FILES;

let compiled: Promise<{ module: object; variant: SimdKernelsVariant }> | undefined;

/** An assembled module file beside this one (from the build when running from the sources). */
function readKernelFile(variant: SimdKernelsVariant): Uint8Array {
  const beside = new URL(`./${SIMD_KERNEL_FILES[variant]}`, import.meta.url);
  const found = compiledWorkerScript(beside);
  if (!found) throw new Error(`${fileURLToPath(beside)} is missing; run \`npm run build\``);
  return readFileSync(fileURLToPath(found));
}

/**
 * The kernels' WebAssembly module, assembled at build time (`scripts/build-assets.mjs`) and compiled once per
 * thread: the relaxed-SIMD form where this runtime validates it (Node 22+), else the plain SIMD form.
 */
function kernelsModule(): Promise<{ module: object; variant: SimdKernelsVariant }> {
  compiled ??= (async () => {
    const relaxed = readKernelFile('relaxed');
    const variant: SimdKernelsVariant = WebAssemblyApi.validate(relaxed) ? 'relaxed' : 'simd';
    return { module: await WebAssemblyApi.compile(variant === 'relaxed' ? relaxed : readKernelFile('simd')), variant };
  })().catch((error: unknown) => {
    compiled = undefined;
    throw new FltsError('FLTS_TRAIN_FAILED', `The SIMD matrix kernels could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  return compiled;
}

/** Which form of the kernels this thread runs (relaxed = fused multiply-adds), for benchmarks and run records. */
export async function simdKernelsVariant(): Promise<SimdKernelsVariant> {
  return (await kernelsModule()).variant;
}

/** A linear memory for one kernels instance (it can grow; growing replaces its buffer). */
export function createKernelMemory(pages: number): WasmMemory {
  return new WebAssemblyApi.Memory({ initial: pages });
}

/** The kernels (`simd-wat.ts`) working on `memory`; addresses passed to them are byte offsets into it. */
export async function instantiateSimdKernels(memory: WasmMemory): Promise<SimdKernels> {
  const instance = await WebAssemblyApi.instantiate((await kernelsModule()).module, { env: { memory } });
  return instance.exports as SimdKernels;
}

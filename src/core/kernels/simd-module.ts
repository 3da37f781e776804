import wabt from 'wabt';
import { FltsError } from '../errors.js';
import { simdKernelsWat } from './simd-wat.js';

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
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: unknown }>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const PAGE = 65536;

let compiled: Promise<object> | undefined;

/** The kernels' WebAssembly module, assembled from its text once per thread. */
function kernelsModule(): Promise<object> {
  compiled ??= (async () => {
    const assembler = await wabt();
    const parsed = assembler.parseWat('flts-simd-kernels.wat', simdKernelsWat(), { simd: true });
    try {
      parsed.validate();
      return await WebAssemblyApi.compile(parsed.toBinary({}).buffer);
    } finally {
      parsed.destroy();
    }
  })().catch((error: unknown) => {
    compiled = undefined;
    throw new FltsError('FLTS_TRAIN_FAILED', `The SIMD matrix kernels could not be built: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  return compiled;
}

/** A linear memory for one kernels instance (it can grow; growing replaces its buffer). */
export function createKernelMemory(pages: number): WasmMemory {
  return new WebAssemblyApi.Memory({ initial: pages });
}

/** The kernels (`simd-wat.ts`) working on `memory`; addresses passed to them are byte offsets into it. */
export async function instantiateSimdKernels(memory: WasmMemory): Promise<SimdKernels> {
  const instance = await WebAssemblyApi.instantiate(await kernelsModule(), { env: { memory } });
  return instance.exports as SimdKernels;
}

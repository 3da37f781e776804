// Files the build puts beside the compiled JavaScript: the ONNX schema (read by `flts export` and the ONNX
// serving engine) with its license, and the SIMD training kernels assembled from their WebAssembly text
// (plain SIMD and relaxed SIMD), so no process assembles them at start-up.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import wabt from 'wabt';
import { SIMD_KERNEL_FILES, simdKernelsWat } from '../dist/core/kernels/simd-wat.js';

const written = [];
const target = (file) => {
  const url = new URL(`../${file}`, import.meta.url);
  mkdirSync(new URL('.', url), { recursive: true });
  written.push(file);
  return url;
};

for (const file of ['onnx.proto', 'LICENSE-onnx']) copyFileSync(new URL(`../src/core/models/onnx/${file}`, import.meta.url), target(`dist/core/models/onnx/${file}`));

const assembler = await wabt();
for (const [variant, file] of Object.entries(SIMD_KERNEL_FILES)) {
  const relaxed = variant === 'relaxed';
  const parsed = assembler.parseWat(file.replace(/\.wasm$/, '.wat'), simdKernelsWat(relaxed), { simd: true, relaxed_simd: relaxed });
  try {
    parsed.validate();
    writeFileSync(target(`dist/core/kernels/${file}`), parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}
console.log(`build assets: ${written.join(', ')}`);

// Files the build needs beside the compiled JavaScript: the ONNX schema (read by `flts export` and the ONNX
// serving engine) and its license.
import { copyFileSync, mkdirSync } from 'node:fs';

const copies = [['src/core/models/onnx/onnx.proto', 'dist/core/models/onnx/onnx.proto'], ['src/core/models/onnx/LICENSE-onnx', 'dist/core/models/onnx/LICENSE-onnx']];
for (const [from, to] of copies) {
  mkdirSync(new URL(`../${to}/..`, import.meta.url), { recursive: true });
  copyFileSync(new URL(`../${from}`, import.meta.url), new URL(`../${to}`, import.meta.url));
}
console.log(`build assets: ${copies.map(([, to]) => to).join(', ')}`);

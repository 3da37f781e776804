// Writes a small hourly energy-load dataset with its own columns into a directory:
//   node examples/custom/generate-energy.mjs /tmp/energy   -> energy.csv, energy_test.csv
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const outDir = process.argv[2] ?? 'energy-data';
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const hourMs = 3_600_000;
const start = Date.UTC(2024, 0, 1);

function row(i) {
  const t = new Date(start + i * hourMs);
  const hour = t.getUTCHours();
  const weekend = [0, 6].includes(t.getUTCDay());
  const temperature = 8 + 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + (random() - 0.5) * 2;
  const load = 420 + 120 * Math.sin(((hour - 7) / 24) * 2 * Math.PI) - (weekend ? 60 : 0) - 4 * temperature + (random() - 0.5) * 25;
  const stamp = t.toISOString().slice(0, 19).replace('T', ' ');
  return `${stamp},${load.toFixed(2)},${temperature.toFixed(2)},${weekend ? 1 : 0}`;
}

const header = 'time,load_mw,temperature_c,weekend';
const trainRows = 24 * 42;
const testRows = 24 * 7;
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'energy.csv'), [header, ...Array.from({ length: trainRows }, (_, i) => row(i))].join('\n') + '\n');
writeFileSync(path.join(outDir, 'energy_test.csv'), [header, ...Array.from({ length: testRows }, (_, i) => row(trainRows + i))].join('\n') + '\n');
console.log(`wrote ${trainRows} + ${testRows} hourly rows to ${outDir}`);

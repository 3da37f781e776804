import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(name) && !/\.(test|contract|fixture)\.tsx?$/.test(name) ? [full] : [];
  });
}

function offences(files: string[], patterns: Array<[RegExp, string]>): string[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return patterns.filter(([pattern]) => pattern.test(text)).map(([, what]) => `${path.relative(ROOT, file)}: ${what}`);
  });
}

/**
 * Layers, top to bottom. A module may import from its own layer or any layer below it, never above. Every folder
 * of src/ belongs to exactly one layer (a subfolder to its top folder's), so a new folder has to be placed here.
 * `core` names the leaf files at the root of src/core (errors, events, logger, model-types, retry, worker-script).
 */
const LAYERS: ReadonlyArray<{ name: string; areas: readonly string[] }> = [
  { name: 'entry points', areas: ['commands', 'cli', 'core/index.ts'] },
  { name: 'runtimes', areas: ['core/serve', 'core/daemon', 'core/batch', 'core/bench'] },
  { name: 'workflows', areas: ['core/workflows', 'core/runbooks'] },
  {
    name: 'domain',
    areas: ['core/backtest', 'core/eval', 'core/train', 'core/registry', 'core/forecast', 'core/models', 'core/preprocess', 'core/data', 'core/offsets', 'core/kernels', 'core/tf', 'core/live'],
  },
  { name: 'ports', areas: ['core/storage', 'core/bus', 'core/tracking'] },
  { name: 'leaves', areas: ['core/config', 'core/charts', 'core'] },
];

/** The folder a file belongs to for cycle checks; the library's index is its own entry point. */
function folderOf(file: string): string {
  const relative = path.relative(SRC, file).split(path.sep).join('/');
  return relative === 'core/index.ts' ? relative : path.posix.dirname(relative);
}

function areaOf(folder: string): string {
  if (folder === 'core/index.ts' || folder === 'core') return folder;
  const parts = folder.split('/');
  return parts[0] === 'core' ? `core/${parts[1]}` : parts[0];
}

function layerOf(folder: string): number {
  const area = areaOf(folder);
  return LAYERS.findIndex((layer) => layer.areas.includes(area));
}

interface Import {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

function relativeImports(files: string[]): Import[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)].map((match) => {
      const specifier = match[1] ?? match[2];
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      return { from: folderOf(file), to: folderOf(target), file: path.relative(ROOT, file), specifier };
    });
  });
}

/** Each cycle once, as a path of folders back to its start. */
export function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of [...(edges.get(node) ?? [])].sort()) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

function folderEdges(imports: Import[]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  }
  return edges;
}

/**
 * Core modules that may touch process.env: a switch of a native library, which reads it from the process
 * environment itself, so no flts setting can reach it.
 */
const PROCESS_ENV_EXCEPTIONS: readonly string[] = ['src/core/models/onnx/runtime-telemetry.ts'];

describe('architecture', () => {
  const files = sourceFiles(SRC);
  const imports = relativeImports(files);

  it('keeps src/core free of terminal I/O, env/argv reads, process exits and CLI libraries', () => {
    const core = sourceFiles(path.join(SRC, 'core'));
    const found = offences(core, [
      [/\bconsole\.(log|error|warn|info|debug)\(/, 'prints to the console'],
      [/\bprocess\.argv\b/, 'reads process.argv'],
      [/\bprocess\.exit\(/, 'calls process.exit'],
      [/from ['"](@oclif\/core|ink|cli-progress)['"]/, 'imports a CLI library'],
      [/from ['"]\.\.\/(\.\.\/)*(cli|commands)\//, 'imports from the CLI layer'],
    ]);
    const envUsers = offences(
      core.filter((file) => !PROCESS_ENV_EXCEPTIONS.includes(path.relative(ROOT, file).split(path.sep).join('/'))),
      [
        [/\bprocess\.env\b/, 'reads process.env'],
        // os.tmpdir() reads TMPDIR: the scratch directory comes in with the dependencies (Dependencies.scratchDir).
        [/\btmpdir\(\)/, 'reads TMPDIR through os.tmpdir()'],
      ],
    );
    expect([...found, ...envUsers]).toEqual([]);
  });

  it('keeps imports pointing one way: commands -> cli -> core', () => {
    const found = offences(sourceFiles(path.join(SRC, 'cli')), [[/from ['"]\.\.\/commands\//, 'imports a command']]);
    expect(found).toEqual([]);
  });

  it('gives commands their store, bus and logger from the CLI base class, never building their own', () => {
    const found = offences(sourceFiles(path.join(SRC, 'commands')), [
      [/\bcreateObjectStore\(/, 'creates an object store (use this.dependencies)'],
      [/\bcreateMessageBus\(/, 'creates a message bus (use this.dependencies)'],
      [/from ['"]pino['"]/, 'creates a logger (use this.dependencies)'],
    ]);
    expect(found).toEqual([]);
  });

  it('runs each pipeline step through its workflow: no command or runtime trains or preprocesses by itself', () => {
    const found = offences([...sourceFiles(path.join(SRC, 'commands')), ...sourceFiles(path.join(SRC, 'cli')), ...sourceFiles(path.join(SRC, 'core/daemon'))], [
      [/\btrainRun\(/, 'trains a run itself (call trainModels from core/workflows/train)'],
      [/\brunPreprocess\(/, 'preprocesses itself (call preprocess from core/workflows/preprocess)'],
      [/\bpublishPreprocessClaims\(|\bencodeTrainClaim\(/, 'publishes claims itself (call preprocess from core/workflows/preprocess)'],
    ]);
    expect(found).toEqual([]);
  });

  it('places every folder of src/ in a layer', () => {
    const unplaced = [...new Set(files.map(folderOf))].filter((folder) => layerOf(folder) < 0).sort();
    expect(unplaced).toEqual([]);
  });

  it('imports only from the same layer or a lower one (entry points -> runtimes -> workflows -> domain -> ports -> leaves)', () => {
    const upward = imports
      .filter(({ from, to }) => layerOf(to) >= 0 && layerOf(to) < layerOf(from))
      .map(({ file, specifier, from, to }) => `${file} imports ${specifier}: ${LAYERS[layerOf(from)].name} may not depend on ${LAYERS[layerOf(to)].name}`);
    expect(upward).toEqual([]);
  });

  it('has no folder cycles', () => {
    const cycles = folderCycles(folderEdges(imports)).map((cycle) => cycle.join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('finds a cycle and an upward import when there is one', () => {
    const edges = new Map([
      ['core/eval', new Set(['core/registry'])],
      ['core/registry', new Set(['core/eval', 'core/storage'])],
      ['core/storage', new Set<string>()],
    ]);
    expect(folderCycles(edges)).toEqual([['core/eval', 'core/registry', 'core/eval']]);
    expect(layerOf('core/train/fused')).toBeGreaterThan(layerOf('core/workflows'));
    expect(layerOf('core/storage')).toBeGreaterThan(layerOf('core/registry'));
  });
});

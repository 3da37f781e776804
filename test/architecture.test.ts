import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(name) && !/\.(test|contract)\.tsx?$/.test(name) ? [full] : [];
  });
}

function offences(files: string[], patterns: Array<[RegExp, string]>): string[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return patterns.filter(([pattern]) => pattern.test(text)).map(([, what]) => `${path.relative(ROOT, file)}: ${what}`);
  });
}

describe('architecture', () => {
  it('keeps src/core free of terminal I/O, env/argv reads, process exits and CLI libraries', () => {
    const found = offences(sourceFiles(path.join(ROOT, 'src/core')), [
      [/\bconsole\.(log|error|warn|info|debug)\(/, 'prints to the console'],
      [/\bprocess\.env\b/, 'reads process.env'],
      [/\bprocess\.argv\b/, 'reads process.argv'],
      [/\bprocess\.exit\(/, 'calls process.exit'],
      [/from ['"](@oclif\/core|ink|cli-progress)['"]/, 'imports a CLI library'],
      [/from ['"]\.\.\/(\.\.\/)*(cli|commands)\//, 'imports from the CLI layer'],
    ]);
    expect(found).toEqual([]);
  });

  it('keeps imports pointing one way: commands -> cli -> core', () => {
    const found = offences(sourceFiles(path.join(ROOT, 'src/cli')), [[/from ['"]\.\.\/commands\//, 'imports a command']]);
    expect(found).toEqual([]);
  });
});

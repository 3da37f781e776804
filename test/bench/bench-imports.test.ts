import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.js';

// Every performance figure of the project comes from a script in bench/, and no test runs them (they time things).
// A module they load that was moved or renamed went unnoticed until someone ran the bench. This reads the scripts
// instead: each module of the build they name (dist/... is compiled from src/..., so the sources answer, built or
// not) must exist, and each name they take from it must be exported.

const BENCH_DIR = path.join(REPO_ROOT, 'bench');
const SRC_DIR = path.join(REPO_ROOT, 'src');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

const SOURCES = listFiles(SRC_DIR).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));

/** Paths a bench names that are not modules of the build: the CLI's entry and autocannon's. */
const NOT_BUILD_MODULES = new Set(['bin/run.js', 'run.js', 'autocannon.js']);
const isBuildModule = (reference: string): boolean => !NOT_BUILD_MODULES.has(reference.replace(/^(\.\.\/|\$\{[^}]*\}\/?|\/)+/, ''));

/**
 * The source files a path a bench names in the build can be compiled from. A bench builds its paths from a root it
 * was given (`${dist}/registry/run-store.js`, path.join(core, 'serve/model-holder.js')), so only the part after the
 * last `dist/`, or the whole text when there is none, is known: every source ending with it is a candidate.
 */
function sourcesFor(reference: string): string[] {
  const tail = (reference.includes('dist/') ? reference.slice(reference.lastIndexOf('dist/') + 'dist/'.length) : reference).replace(/^(\$\{[^}]*\}|\.\.?\/|\/)+/, '');
  const suffix = `/${tail.replace(/\.js$/, '.ts')}`;
  return SOURCES.filter((file) => file.endsWith(suffix));
}

/** The names a module exports, following `export * from` and `export { x } from` into the sources they name. */
function exportsOf(file: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file)) return names;
  seen.add(file);
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const exported = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.add(element.name.text);
      } else if (statement.exportClause && ts.isNamespaceExport(statement.exportClause)) {
        names.add(statement.exportClause.name.text);
      } else if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
        const target = path.resolve(path.dirname(file), statement.moduleSpecifier.text).replace(/\.js$/, '.ts');
        for (const name of exportsOf(target, seen)) if (name !== 'default') names.add(name);
      }
    } else if (ts.isExportAssignment(statement)) {
      names.add('default');
    } else if (exported(statement)) {
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
          else for (const element of declaration.name.elements) if (ts.isBindingElement(element) && ts.isIdentifier(element.name)) names.add(element.name.text);
        }
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
        const isDefault = (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
        names.add(isDefault ? 'default' : statement.name.text);
      }
    }
  }
  return names;
}

interface ModuleUse {
  script: string;
  reference: string;
  /** The names taken from it, where the script names them at the import. */
  names: string[];
  /** Set when the names come from any of several modules merged into one object (`Object.assign(m, await import(file))` in a loop). */
  anyOf?: string[];
}

/** `{ a, b as c, d: e }` to [a, b, d]. */
function importedNames(bindings: string): string[] {
  return bindings
    .split(',')
    .map((part) => part.trim().replace(/^type\s+/, '').split(/\s+as\s+|\s*:\s*/)[0].trim())
    .filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
}

/** Each module of the build, or another bench script, that `script` names, with the names it takes where they are written at the import. */
function moduleUses(script: string, text: string): ModuleUse[] {
  const uses: ModuleUse[] = [];
  const quoted = String.raw`['"\x60]([^'"\x60\s]*\.m?js)['"\x60]`;
  // import { a, b } from '...';   import x from '...';   import * as x from '...'
  for (const match of text.matchAll(new RegExp(String.raw`^import\s+(?:type\s+)?([^;'"\x60]*?)\s+from\s+${quoted}`, 'gm'))) {
    const braces = /\{([\s\S]*)\}/.exec(match[1]);
    uses.push({ script, reference: match[2], names: braces ? importedNames(braces[1]) : [] });
  }
  // const { a, b } = await import(...'x.js'...);   const { a } = await load(root, 'x.js');
  for (const match of text.matchAll(new RegExp(String.raw`const\s*\{([^}]*)\}\s*=\s*await\s+\w+\([^;\n]*?${quoted}[^;\n]*`, 'g'))) {
    uses.push({ script, reference: match[2], names: importedNames(match[1]) });
  }
  // (await import(...'x.js'...)).name
  for (const match of text.matchAll(new RegExp(String.raw`\(await\s+\w+\([^;\n]*?${quoted}\)+\.(\w+)`, 'g'))) {
    uses.push({ script, reference: match[1], names: [match[2]] });
  }
  // Members of a module object: const core = await import(...); core.name   |   import(...).then((m) => m.name
  // A member on either side of `??` is a fallback for another build's names, and is not required of this one.
  const members = (name: string): string[] => [...new Set([...text.matchAll(new RegExp(String.raw`(?<!\?\?\s*)\b${name}\.([A-Za-z_$][\w$]*)\b(?!\s*\?\?)`, 'g'))].map((m) => m[1]))];
  for (const match of text.matchAll(new RegExp(String.raw`const\s+(\w+)\s*=\s*await\s+import\([^;\n]*?${quoted}`, 'g'))) {
    uses.push({ script, reference: match[2], names: members(match[1]) });
  }
  for (const match of text.matchAll(new RegExp(String.raw`import\([^;\n]*?${quoted}\)\.then\(\((\w+)\)\s*=>\s*\2\.(\w+)`, 'g'))) {
    uses.push({ script, reference: match[1], names: [match[3]] });
  }
  // Object.assign(m, await import(path.join(core, file))) over a list of files: m's members come from one of the files the script names.
  const merged = [...text.matchAll(/Object\.assign\((\w+),\s*await\s+import\(/g)].map((match) => match[1]);
  const written = [...text.matchAll(new RegExp(quoted, 'g'))].map((match) => match[1]);
  for (const name of merged) uses.push({ script, reference: `Object.assign(${name})`, names: members(name), anyOf: written });
  // Any other path of the build written out (a list of modules loaded in a loop, a child's script): it must exist.
  for (const match of text.matchAll(new RegExp(quoted, 'g'))) {
    if (!uses.some((use) => use.reference === match[1])) uses.push({ script, reference: match[1], names: [] });
  }
  return uses;
}

const scripts = readdirSync(BENCH_DIR).filter((name) => name.endsWith('.mjs'));
const uses = scripts.flatMap((name) => moduleUses(name, readFileSync(path.join(BENCH_DIR, name), 'utf8')));

/** The files a use can resolve to: a bench script beside it, or the sources of a module of the build. */
function candidates(use: ModuleUse): string[] {
  if (use.anyOf) return use.anyOf.filter(isBuildModule).flatMap((reference) => candidates({ ...use, reference, anyOf: undefined }));
  if (use.reference.startsWith('./') || use.reference.startsWith('../') && !use.reference.includes('dist/')) {
    const file = path.resolve(BENCH_DIR, use.reference);
    return existsSync(file) ? [file] : [];
  }
  return sourcesFor(use.reference);
}

describe('bench > the scripts load what the build has', () => {
  it('finds the modules the scripts load (the reading of the scripts still sees them)', () => {
    const built = uses.filter((use) => isBuildModule(use.reference));
    expect(built.filter((use) => use.reference.includes('dist/')).length).toBeGreaterThan(60);
    expect(built.filter((use) => use.names.length > 0).length).toBeGreaterThan(100);
    expect(new Set(built.map((use) => use.script)).size).toBeGreaterThan(30);
  });

  it('names only modules the build has: every dist/ path has its source in src/', () => {
    const missing = uses
      .filter((use) => isBuildModule(use.reference))
      .filter((use) => candidates(use).length === 0)
      .map((use) => `${use.script}: ${use.reference}`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it('takes only names those modules export', () => {
    const unexported = uses.flatMap((use) => {
      const files = candidates(use);
      if (files.length === 0 || use.names.length === 0) return [];
      if (use.anyOf) {
        const merged = new Set(files.flatMap((file) => [...exportsOf(file)]));
        return use.names.filter((name) => !merged.has(name)).map((name) => `${use.script}: ${name} from any of ${use.anyOf?.join(', ')}`);
      }
      // Of several sources ending the same way (a path given from a root), the one that has the names is meant.
      const best = files.map((file) => exportsOf(file)).map((names) => use.names.filter((name) => !names.has(name))).sort((a, b) => a.length - b.length)[0];
      return best.map((name) => `${use.script}: ${name} from ${use.reference}`);
    });
    expect([...new Set(unexported)]).toEqual([]);
  });

  it('runs only scripts that are there from the bench:* npm scripts', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const missing = Object.entries(pkg.scripts)
      .filter(([name]) => name.startsWith('bench'))
      .flatMap(([name, command]) => [...command.matchAll(/bench\/[\w.-]+\.(?:mjs|sh)/g)].map((m) => [name, m[0]] as const))
      .filter(([, file]) => !existsSync(path.join(REPO_ROOT, file)))
      .map(([name, file]) => `${name}: ${file}`);
    expect(missing).toEqual([]);
  });
});

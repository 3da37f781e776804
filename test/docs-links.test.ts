import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Folders that hold no documentation of the repository's own: dependencies, build output, local state. */
const SKIP = new Set(['node_modules', 'dist', '.git']);

function markdownFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

/** The text outside fenced code blocks: a link inside one is shown, not followed. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation other than `-` and `_` dropped, spaces as `-`, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

/** Every relative link of a page that leads nowhere: a missing file, or an anchor no heading of the page makes. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [linkPath, anchor] = target.split('#', 2);
    const resolved = linkPath === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(linkPath));
    if (!existsSync(resolved)) {
      broken.push(`${target} (no such file)`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
      broken.push(`${target} (no such heading)`);
    }
  }
  return broken;
}

/** Repository paths named in code spans (`src/core/errors.ts`): from the repository's root or the page's folder. */
function missingPaths(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const tops = readdirSync(ROOT).filter((name) => !SKIP.has(name) && statSync(path.join(ROOT, name)).isDirectory());
  const named = new RegExp(`\`((?:\\.\\./)*(?:${tops.map((top) => top.replace('.', '\\.')).join('|')})/[\\w./-]*\\.[a-z]{2,5})\``, 'g');
  return [...text.matchAll(named)]
    .map((match) => match[1])
    .filter((named) => !existsSync(path.join(ROOT, named)) && !existsSync(path.resolve(path.dirname(file), named)));
}

/** Each command's id as typed (`promote-manual`, `config show`) and the flags it takes, its global ones included. */
async function commandFlags(): Promise<Map<string, Set<string>>> {
  const root = path.join(ROOT, 'src/commands');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file));
  const commands = new Map<string, Set<string>>();
  for (const file of files) {
    const command = (await import(pathToFileURL(path.join(root, file)).href)).default as { flags?: object; baseFlags?: object };
    const id = file.replace(/\.tsx?$/, '').split(path.sep).join(' ');
    commands.set(id, new Set([...Object.keys(command.baseFlags ?? {}), ...Object.keys(command.flags ?? {}), 'help']));
  }
  return commands;
}

/** `flts <command> ... --flag` as a page shows it (in code spans and code blocks) where the command takes no such flag. */
function unknownFlags(file: string, commands: Map<string, Set<string>>): string[] {
  const text = readFileSync(file, 'utf8');
  const ids = [...commands.keys()].sort((a, b) => b.length - a.length);
  const unknown: string[] = [];
  const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]).concat(text.split('\n'));
  for (const span of spans) {
    // A command line ends where a shell would end it (a pipe, a list, a comment) or the prose goes on.
    for (const [line, words] of span.matchAll(/\bflts +([a-z][a-z-]*(?: [a-z][a-z-]*)?)[^|;&`()#]*/g)) {
      const id = ids.find((candidate) => words === candidate || words.startsWith(`${candidate} `));
      if (id === undefined) continue;
      for (const [, flag] of line.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
        if (!commands.get(id)?.has(flag)) unknown.push(`flts ${id} --${flag}`);
      }
    }
  }
  return [...new Set(unknown)];
}

/** The lines of a page's shell code blocks (```sh, ```bash, ```console). */
function shellLines(text: string): string[] {
  return [...text.matchAll(/^```(?:sh|bash|shell|console)\n([\s\S]*?)^```$/gm)].flatMap((match) => match[1].split('\n'));
}

/**
 * Shell lines a reader copies that a fresh clone cannot run as shown: a command starting with a bare `flts` (after
 * `npm install` the CLI is `npx flts` or `node bin/run.js`; nothing puts `flts` on PATH), and jq reading a log file
 * (stderr redirected, or `tail -f` of it) as JSON without `-R` and `fromjson?`: npm's own warnings under `npx` and
 * Node's warnings are lines there that are not JSON, and plain jq stops at the first.
 */
function unrunnableShellLines(text: string): string[] {
  const found: string[] = [];
  for (const line of shellLines(text)) {
    const code = line.replace(/\s+#.*$/, '');
    if (/(?:^|[;&|]\s*|^(?:[A-Z_]+=\S*\s+)+)flts\s/.test(code)) found.push(`${code.trim()} (bare flts)`);
    const readsLog = /\bjq\b[^|]*\.log\b/.test(code) || /\btail\b[^|]*\.log\b.*\|\s*jq\b/.test(code);
    if (readsLog && !code.includes('fromjson?')) found.push(`${code.trim()} (jq over a log without fromjson?)`);
  }
  return found;
}

describe('documentation references', () => {
  const files = markdownFiles();

  it('finds the pages', () => {
    expect(files.map((file) => path.relative(ROOT, file))).toEqual(expect.arrayContaining(['README.md', 'docs/errors.md', 'examples/README.md']));
  });

  it('every relative link of every page leads to a file, and its anchor to a heading there', () => {
    const broken = Object.fromEntries(files.map((file) => [path.relative(ROOT, file), brokenLinks(file)]).filter(([, links]) => links.length > 0));
    expect(broken).toEqual({});
  });

  it('every repository file a page names in code is there', () => {
    const missing = Object.fromEntries(files.map((file) => [path.relative(ROOT, file), missingPaths(file)]).filter(([, paths]) => paths.length > 0));
    expect(missing).toEqual({});
  });

  it('every flag a page shows after `flts <command>` is one that command takes', async () => {
    const commands = await commandFlags();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['serve', 'promote-manual', 'config show']));
    const unknown = Object.fromEntries(files.map((file) => [path.relative(ROOT, file), unknownFlags(file, commands)]).filter(([, flags]) => flags.length > 0));
    expect(unknown).toEqual({});
  });

  it('every shell line a page shows runs on a fresh clone as written (npx flts, jq over logs that hold npm lines)', () => {
    const found = Object.fromEntries(files.map((file) => [path.relative(ROOT, file), unrunnableShellLines(readFileSync(file, 'utf8'))]).filter(([, lines]) => lines.length > 0));
    expect(found).toEqual({});
  });

  it('tells a bare flts and a jq over a log from the lines that run', () => {
    const page = [
      '```sh',
      'npx flts train --model LSTM,GRU --json 2>progress.log >train.json &',
      'flts train --model LSTM,GRU --json 2>progress.log >train.json &',
      "tail -f progress.log | jq -cR 'fromjson? | select(.msg == \"train_epoch_done\")'",
      "tail -f progress.log | jq -c 'select(.msg == \"train_epoch_done\")'",
      'FLTS_BUS=fs flts daemon',
      'node bin/run.js serve --json > serve.json 2> serve.log   # flts serve, in a script',
      'npx flts train --json | jq -r .result.config_hash',
      '```',
      '`flts train` in prose is a name, not a line to run',
    ].join('\n');
    expect(unrunnableShellLines(page)).toEqual([
      'flts train --model LSTM,GRU --json 2>progress.log >train.json & (bare flts)',
      "tail -f progress.log | jq -c 'select(.msg == \"train_epoch_done\")' (jq over a log without fromjson?)",
      'FLTS_BUS=fs flts daemon (bare flts)',
    ]);
  });

  it('reads anchors as GitHub makes them', () => {
    expect([...anchors('# Pinning with `--pin`\n## Distributed mode: local Kafka and S3\n## Status\n## Status\n')]).toEqual([
      'pinning-with---pin',
      'distributed-mode-local-kafka-and-s3',
      'status',
      'status-1',
    ]);
  });
});

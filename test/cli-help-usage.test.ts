import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';

/** Every command id, from the command files (`config/show.ts` is `config show`). */
function commandIds(): string[] {
  const root = path.join(REPO_ROOT, 'src/commands');
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file) && !file.includes('.test.'))
    .map((file) => file.replace(/\.tsx?$/, '').split(path.sep).join(' '));
}

function section(help: string, title: string): string {
  const start = help.indexOf(`${title}\n`);
  const end = help.slice(start + title.length + 1).search(/^[A-Z][A-Z ]+$/m);
  return help.slice(start, end < 0 ? undefined : start + title.length + 1 + end);
}

describe('cli > --help usage lines', () => {
  it.each(commandIds())('%s: names every flag of its own and the global ones, with no empty alternatives', async (id) => {
    const help = await runCli([...id.split(' '), '--help']);
    expect(help.exitCode, help.stderr).toBe(0);
    const usage = section(help.stdout, 'USAGE');
    // oclif joins overlapping exclusive flags into groups with empty members: '[--a | --b | ]', '[--pin |  | ]'.
    expect(usage).not.toMatch(/\|\s*(\||\])/);
    // A flag with a short form appears in the usage line by that form (`-p <value>`).
    const own = [...section(help.stdout, 'FLAGS').matchAll(/^\s+(?:(-\w), )?(--[\w-]+)/gm)].map((m) => ({ short: m[1], long: m[2] }));
    const named = (name: string | undefined): boolean => name !== undefined && new RegExp(`[\\s[(]${name}(?![\\w-])`).test(usage);
    expect(own.filter((flag) => !named(flag.long) && !named(flag.short)).map((flag) => flag.long)).toEqual([]);
    // And the global flags, in each of its usage lines (bench and promote write theirs by hand).
    const globals = [...section(help.stdout, 'GLOBAL FLAGS').matchAll(/^\s+(--[\w-]+)/gm)].map((m) => m[1]);
    expect(globals).toContain('--home');
    // Wrapped lines joined, each usage line on its own (a line starts with `$ flts`).
    const lines = usage.replace(/\n(?!\s*\$)\s+/g, ' ').split('\n').filter((line) => line.includes('$ flts'));
    expect(lines.length, usage).toBe((usage.match(/\$ flts/g) ?? []).length);
    for (const line of lines) expect(globals.filter((flag) => !new RegExp(`[\\s[(]${flag}(?![\\w-])`).test(line)), line).toEqual([]);
  }, 30_000);
});

describe('cli > --help examples', () => {
  it('daemon: every example names its bus, without which the daemon refuses to start', async () => {
    const help = await runCli(['daemon', '--help']);
    const examples = section(help.stdout, 'EXAMPLES').split('\n').filter((line) => /\bflts daemon\b/.test(line));
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(example, example).toMatch(/\bFLTS_BUS=(fs|kafka) /);
  });
});

import type { Hook } from '@oclif/core';

/**
 * oclif's `init` hook. oclif shows a topic's help (`flts config`) before any command or other hook runs, so
 * `flts config --json` printed help text where a script reads JSON. Under --json a topic named without one of its
 * commands is a coded usage error naming them, in the JSON envelope, as `flts --json` without a command is; without
 * --json (or with --help) oclif's topic help is left as it is.
 */
const topicJson: Hook.Init = async function ({ id, argv, config }) {
  if (id === undefined || config.findCommand(id) || !config.findTopic(id)) return;
  const { jsonRequested, reportError, stdoutFlushed } = await import('./report-error.js');
  const options = optionsBeforeEnd(argv);
  if (!jsonRequested(options, config) || options.some((word) => HELP_FLAGS.has(word))) return;
  const { FltsError } = await import('../core/errors.js');
  const topic = id.replaceAll(':', ' ');
  const commands = config.commands.filter((command) => !command.hidden && command.id.startsWith(`${id}:`)).map((command) => command.id.replaceAll(':', ' ')).sort();
  const error = new FltsError('FLTS_USAGE_UNKNOWN_COMMAND', `No command given after "${topic}": flts ${topic} <command> [flags], where <command> is one of: ${commands.map((command) => command.slice(topic.length + 1)).join(', ')}.`, {
    details: { command: topic, commands },
    hint: `Name the command (\`flts ${commands[0]} --json\`); \`flts ${topic} --help\` lists them.`,
  });
  const exitCode = reportError(error, { json: true, debug: options.includes('--debug'), theme: config.theme?.json });
  process.exitCode = exitCode;
  await stdoutFlushed();
  this.exit(exitCode);
};

const HELP_FLAGS: ReadonlySet<string> = new Set(['--help', '-h']);

/** The words before `--`, after which nothing is a flag. */
function optionsBeforeEnd(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return end === -1 ? [...argv] : argv.slice(0, end);
}

export default topicJson;

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Flags, type Interfaces } from '@oclif/core';
import type { Logger as PinoLogger } from 'pino';
import type { BusMetrics } from '../core/bus/index.js';
import { clip, QUOTED_CHARS, quotedText } from '../core/clip-text.js';
import { createCliLogger, plainLogLines } from './cli-logger.js';
import { createProgressLog } from './progress-log.js';
import type { EventSink } from '../core/events.js';
import { unknownEnvNamesOnce } from './unknown-env.js';
import { relaunchBoundedForServing, warnIfServingHeapUnbounded } from './serving-heap.js';
import { mlflowUserName } from './operator.js';
import { usageMessage } from './usage-message.js';
import { flagsTypedOtherwise, namingFlagsAsTyped } from './flag-as-typed.js';
import { onTerminal, reportError, stdoutFlushed } from './report-error.js';
import { snakeCaseKeys } from '../core/snake-case-keys.js';
import { describeConfigFileError } from '../core/config/config-file-error.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { resolveSettings, type ResolvedSettings, type Settings } from '../core/config/settings.js';
import { ALL_SPECS } from '../core/config/specs/index.js';
import { parseSettingText, type SettingSpec } from '../core/config/specs/setting-spec.js';
import { readRegularFile } from '../core/read-regular-file.js';
import { FltsError, isFltsError, toFltsError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { namingRunsLike } from '../core/registry/run-store.js';
import { openDependencies, type Dependencies } from '../core/workflows/open-dependencies.js';
import { unlessStoppedMeanwhile } from './stop-signals.js';
import type { WaitingForReader } from '../core/write-file-whole.js';

/** What a long command hands core as `onEvent`, and stops (a bar drawn) when the work ends, whatever its outcome. */
export interface CommandProgress {
  onEvent: EventSink;
  stop(): void;
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof FltsCommand)['baseFlags'] & T['flags']>;

const DEFAULT_CONFIG_FILE = 'flts.config.json';

/**
 * Far more than any config file holds (every setting with a long value is a few KiB). A larger file is another file
 * given by mistake (a dataset, a model): refused before it is read, where it was read whole first, 3 GB of memory for
 * a 3 GB file, enough for a container's memory limit to kill the command without a word.
 */
const CONFIG_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** What a command hands to core: built once per command run, from its settings; its logger writes JSON lines on stderr. */
export type CommandDeps = Dependencies;

/**
 * A refused setting that came from a flag, named as the user typed it (`--model`) rather than by its setting path:
 * the flag is the one whose parsed value was handed over for that setting (left as it is when none or several match).
 */
function namingTheFlag(error: unknown, parsed: Record<string, unknown>, fromFlags: Record<string, unknown>): unknown {
  if (!isFltsError(error) || error.code !== 'FLTS_CONFIG_INVALID_VALUE' || error.details?.source !== 'flag') return error;
  const setting = String(error.details.setting);
  const value = fromFlags[setting];
  // A repeatable flag (--model LSTM --model GRU) hands over its values joined, as a comma list, and some in capitals.
  const handedOver = (parsed: unknown): unknown => (Array.isArray(parsed) ? parsed.join(',') : parsed);
  const same = (given: unknown): boolean => given === value || (typeof given === 'string' && typeof value === 'string' && given.toUpperCase() === value.toUpperCase());
  const names = Object.keys(parsed).filter((name) => value !== undefined && same(handedOver(parsed[name])));
  if (names.length !== 1) return error;
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', error.message.replace(`flag for ${setting}`, `--${names[0]} (setting ${setting})`), { details: { ...error.details, flag: names[0] } });
}

/**
 * `file` as one word of a POSIX shell command line: quoted unless made only of characters no shell reads, and never
 * read as an option (`-x` as `./-x`).
 */
function shellWord(file: string): string {
  const word = file.startsWith('-') ? `./${file}` : file;
  return /^[\w./,:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command line up to `--`, after which words are arguments, not flags. */
function wordsBeforePassThrough(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

/** `--json=true` (or 1, yes, on): refused as a switch given a value, but the refusal is the JSON document asked for. */
function asksJsonByValue(argv: readonly string[]): boolean {
  return wordsBeforePassThrough(argv).some((word) => /^--json=(true|1|yes|on)$/i.test(word));
}

const SPECS_BY_PATH = new Map(ALL_SPECS.map((spec) => [spec.path, spec]));

const isBlank = (value: unknown): boolean => (typeof value === 'string' ? value.trim() === '' : Array.isArray(value) && value.length > 0 && value.every(isBlank));

/**
 * Whether a setting reads blank flag text as something the user did not type: as absent (`--home ""`, FLTS_HOME or
 * ./.flts taken instead), as false (`--early-stopping ""`), as null (`--min-improvement ""`, no quality gate over the
 * one configured) or as the default list (`--models ""`). A plain text setting keeps it as its value (`--identifier ""`
 * is the global scope), and a blank the setting refuses anyway is left to that refusal.
 */
function blankReadAsOther(spec: SettingSpec, text: string): boolean {
  if (spec.type === 'string' && !spec.nullable) return spec.emptyIsUnset === true;
  try {
    parseSettingText(spec, text, 'flag');
    return true;
  } catch {
    return false;
  }
}

/**
 * Setting flags given with nothing in them are refused, as other blank flags are (refuseEmptyFlags): `--early-stopping
 * "$UNSET"` turned early stopping off, and `--home ""` used FLTS_HOME, each without a word.
 */
function refuseBlankSettingFlags(parsed: Record<string, unknown>, fromFlags: Record<string, unknown>): void {
  for (const [setting, value] of Object.entries(fromFlags)) {
    const spec = SPECS_BY_PATH.get(setting);
    if (!spec || typeof value !== 'string' || !isBlank(value) || !blankReadAsOther(spec, value)) continue;
    const blank = Object.keys(parsed).filter((name) => isBlank(parsed[name]));
    if (blank.length === 1) refuseEmptyFlags({ [blank[0]]: value });
    throw new FltsError('FLTS_USAGE_INVALID_FLAG', `The flag for setting ${setting} (one of ${blank.map((name) => `--${name}`).join(', ')}) is empty: give it a value, or leave the flag out.`, { details: { setting, value } });
  }
}

/**
 * Every flts command extends this: it owns `--json`, the shared flags, settings layering and the mapping
 * of errors to exit codes and JSON envelopes, so command files only parse, call core and render.
 */
export abstract class FltsCommand<TResult> extends Command {
  static override enableJsonFlag = true;

  /**
   * Whether the command is a service: its log lines are what its operators collect and alert on (README "Log lines"),
   * JSON whoever starts it, its settings warnings too, which are logged before it names itself (dependencies' `service`).
   */
  static logsAsService = false;

  /**
   * Whether the command's process answers requests with these settings (`flts serve`; `flts daemon` with its serving
   * role): it then runs with its young generation bounded (src/cli/serving-heap.ts), replacing itself with node started
   * with the bound once its settings are read, before anything is logged, and warns (serving_heap_unbounded) when it
   * cannot.
   */
  static servesRequests?: (settings: Settings) => boolean;

  static override baseFlags = {
    config: Flags.string({ description: `Config file (default: ./${DEFAULT_CONFIG_FILE} when present).`, helpGroup: 'GLOBAL' }),
    home: Flags.string({ description: 'Data directory of the embedded store (env FLTS_HOME, default ./.flts).', helpGroup: 'GLOBAL' }),
    'log-level': Flags.string({ description: 'Log level: trace, debug, info, warn, error, silent.', helpGroup: 'GLOBAL' }),
    profile: Flags.string({ description: 'Defaults: default (measured) or reference (the reference deployment exactly) (env FLTS_PROFILE).', helpGroup: 'GLOBAL' }),
    debug: Flags.boolean({ description: 'Show stack traces on errors.', helpGroup: 'GLOBAL', default: false }),
    // oclif's own --json ("Format output as json.") with what a script needs to know of the document.
    json: Flags.boolean({ description: 'Print one JSON document on stdout: {"status":"ok","result":...} or {"status":"error","error":{code,message,hint,details}}, fields in snake_case.', helpGroup: 'GLOBAL' }),
  };

  protected debugErrors = false;

  private built?: Promise<CommandDeps>;
  private builtSettings?: Settings;
  private builtLogger?: PinoLogger;
  /** Whether the log level is the default one, which a command that prints its own outcome narrows to warnings. */
  private defaultLogLevel = true;
  /** The environment variable of each setting loadSettings took from the environment. */
  private envNames: Record<string, string> = {};

  /**
   * The store, bus, logger and tracking collaborators of this run, built on first use from the settings and
   * shared by everything the command calls; the bus and the store are closed when the command ends, whatever the outcome.
   * A service that exports metrics passes `busMetrics`, so its registry counts what the bus does.
   */
  protected dependencies(settings: Settings, options: { service?: string; busMetrics?: BusMetrics } = {}): Promise<CommandDeps> {
    this.builtSettings ??= settings;
    // A service waits for the brokers however long it takes; a command says within a bound that they cannot be reached.
    if (!this.built && (this.constructor as typeof FltsCommand).servesRequests?.(settings)) warnIfServingHeapUnbounded(this.logger(settings, options));
    this.built ??= openDependencies(settings, { logger: this.logger(settings, options), envNames: this.envNames, busMetrics: options.busMetrics, service: options.service !== undefined, scratchDir: os.tmpdir() });
    return this.built;
  }

  /**
   * The run's logger alone, for a command that reaches a service without the store and bus (one and the same logger
   * as dependencies() hands out).
   */
  protected logger(settings: Settings, options: { service?: string } = {}): Logger {
    // A command that ends with its own report (everything but the services, which name themselves) would repeat
    // it as info lines on stderr, among its progress and beside --json: only warnings, unless a level is asked for.
    this.builtLogger ??= createCliLogger(!options.service && this.defaultLogLevel && settings.logLevel === 'info' ? 'warn' : settings.logLevel, options.service, this.logsPlain(options.service) ? plainLogLines() : undefined);
    return this.builtLogger;
  }

  /**
   * Where a long command tells its progress under --json, whose stdout holds its one document alone: the run's log,
   * JSON lines on stderr, as info lines. They pass at the default log level, where logger() keeps only warnings;
   * a level asked for is obeyed (--log-level warn, FLTS_LOG_LEVEL=warn silence them).
   */
  protected progressLogger(settings: Settings): Logger {
    const logger = this.logger(settings);
    return this.defaultLogLevel && settings.logLevel === 'info' && this.builtLogger ? this.builtLogger.child({}, { level: 'info' }) : logger;
  }

  /**
   * A long command's progress, one mechanism for all of them: as text, `text()` (bars on a terminal, plain lines
   * otherwise); under --json, whose stdout holds the one document alone, the same core events as info log lines on
   * stderr (createProgressLog), so a script or CI job watching a --json run is not left with a silent process.
   */
  protected progress(settings: Settings, text: () => CommandProgress): CommandProgress {
    return this.jsonEnabled() ? { onEvent: createProgressLog(this.progressLogger(settings)), stop: () => {} } : text();
  }

  /**
   * Whether this run's log lines are for a person rather than a program: a one-shot command printing its report as
   * text, at the default log level, whose warnings (an unknown FLTS_ variable, a promotion caught up) were raw JSON
   * among that report. They are written as `warning: <reason> (<event>)`. Under --json, at a level asked for (flag
   * or environment) and in a service, they stay JSON lines, which scripts and log collectors parse.
   */
  private logsPlain(service?: string): boolean {
    return service === undefined && !(this.constructor as typeof FltsCommand).logsAsService && this.defaultLogLevel && !this.jsonEnabled();
  }

  /**
   * Whether this run's report and its log lines are both read by a person (text output, plain log lines, after
   * loadSettings): a warning the report says (a notice the bus did not take) is then not logged as well, which
   * printed it twice. Under --json or at a level asked for, the log line stays for whoever parses the log.
   */
  protected reportSaysWarnings(): boolean {
    return this.logsPlain();
  }

  /**
   * The bus and the store are closed after the command's work, and its --json document or exit code printed only
   * after that: a stop while the close waits (a Kafka disconnect waiting for brokers, up to bus.kafka.closeTimeoutMs)
   * ended the process by the signal's default action, exit 130 and no document, though the work was done. The close is
   * waited for until such a stop only: the outcome is then printed, and the close, bounded by its own deadline, ends
   * beside it.
   */
  override async finally(error: Error | undefined): Promise<unknown> {
    const deps = await this.built?.catch(() => undefined);
    if (deps) await unlessStoppedMeanwhile(() => deps.close());
    return super.finally(error);
  }

  abstract override run(): Promise<TResult>;

  /**
   * A switch given a value (`--json=true`, `--force=false`) is refused first, naming it: oclif parses the value as a
   * word of its own, so `--json=true` was "Unexpected argument: true", printed as text, and after a repeatable flag
   * (`--model NAIVE --json=true`) the word became a model type, "NAIVE,TRUE".
   */
  override async init(): Promise<void> {
    await super.init();
    const command = this.constructor as typeof FltsCommand;
    const switches = Object.entries({ ...command.baseFlags, ...command.flags }).filter(([, flag]) => flag.type === 'boolean').map(([name]) => name);
    for (const word of wordsBeforePassThrough(this.argv)) {
      const [, name, value] = /^--([^=]+)=(.*)$/s.exec(word) ?? [];
      if (name !== undefined && switches.includes(name)) {
        throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--${name} is a switch and takes no value: give --${name} alone, or leave it out (${clip(quotedText(word))}).`, { details: { flag: name, value } });
      }
    }
  }

  /** Reads the config file and layers defaults < file < env < flags. `flagSettings` maps dot paths to flag values. */
  protected loadSettings(flags: { config?: string; home?: string; 'log-level'?: string; profile?: string }, flagSettings: Record<string, unknown> = {}): ResolvedSettings {
    // Read as absent, `--config ""` read no config file, not even ./flts.config.json, without a word.
    refuseEmptyFlags({ config: flags.config }, 'a file');
    const file = this.readConfigFile(flags.config);
    const fromFlags: Record<string, unknown> = { home: flags.home, logLevel: flags['log-level'], profile: flags.profile, ...flagSettings };
    refuseBlankSettingFlags(flags as Record<string, unknown>, fromFlags);
    try {
      const resolved = resolveSettings({ file, env: process.env, flags: fromFlags });
      // Core reads neither the environment nor the OS: the user MLflow's own clients would name is found here.
      if (resolved.sources['tracking.user'] === 'default') resolved.settings.tracking.user = mlflowUserName(process.env);
      // Before any line is logged: the process replaced says them again from the start.
      if ((this.constructor as typeof FltsCommand).servesRequests?.(resolved.settings)) relaunchBoundedForServing();
      this.defaultLogLevel = resolved.sources.logLevel === 'default';
      this.envNames = resolved.envNames;
      // A logger of its own: the command's is built later, with the service a server names itself by.
      const unknown = unknownEnvNamesOnce(process.env);
      const warn = unknown.length > 0 || resolved.warnings.length > 0 ? createCliLogger(resolved.settings.logLevel, undefined, this.logsPlain() ? plainLogLines() : undefined) : undefined;
      for (const { name, meant, reason } of unknown) warn?.warn({ variable: name, meant, reason }, 'settings_env_unknown');
      for (const { code, env, setting, repeated, value, message } of resolved.warnings) warn?.warn({ variable: env, setting, repeated, value, reason: message }, code);
      return resolved;
    } catch (error) {
      throw namingTheFlag(error, flags as Record<string, unknown>, fromFlags);
    }
  }

  private readConfigFile(explicit?: string): Record<string, unknown> | undefined {
    const candidate = explicit ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
    if (!candidate) return undefined;
    let text: string | undefined;
    try {
      // A byte order mark, which Windows editors and PowerShell's Out-File put first, is no part of the JSON.
      text = readRegularFile(path.resolve(candidate), { maxBytes: CONFIG_FILE_MAX_BYTES }).replace(/^\uFEFF/, '');
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a JSON object');
      return parsed as Record<string, unknown>;
    } catch (cause) {
      throw new FltsError('FLTS_CONFIG_FILE_UNREADABLE', `Cannot read config file ${clip(candidate)}: ${clip(describeConfigFileError(cause, text), 4 * QUOTED_CHARS)}`, { details: { file: clip(candidate) } });
    }
  }

  /**
   * What a command hands writeFileWhole as `onWaitingForReader`: an output that is a named pipe nobody reads yet is
   * waited on for its reader (`flts predict --out p & cat p`), up to a minute, which looked like a hang. Said on stderr,
   * where stdout's report or --json document is left as it is: a line for a person, under --json a warning log line.
   */
  protected waitingForReader(settings: Settings): WaitingForReader {
    return (file, waitMs) => {
      if (this.jsonEnabled()) this.logger(settings).warn({ path: file, wait_ms: waitMs }, 'output_waiting_for_reader');
      else process.stderr.write(`${onTerminal(`waiting up to ${waitMs / 1000} s for a reader on ${file} (open it with: cat ${shellWord(file)})`)}\n`);
    };
  }

  /** Human output only: silent under --json. */
  protected say(message = ''): void {
    if (!this.jsonEnabled()) this.log(message);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own parse errors (unknown flag, missing arg) become usage errors with exit code 2.
    const parseError = error.oclif !== undefined && !(error instanceof FltsError);
    const command = this.constructor as typeof FltsCommand;
    const flags = { ...command.baseFlags, ...command.flags };
    const switches = Object.entries(flags).filter(([, flag]) => flag.type === 'boolean').map(([name]) => name);
    let flts = parseError ? new FltsError('FLTS_USAGE_INVALID_FLAG', usageMessage(error.message, Object.keys(flags), { argv: this.argv, switches })) : toFltsError(error);
    // oclif and the checks name a flag by its own name, which a user who typed `-m` or a former name never wrote.
    flts = namingFlagsAsTyped(flts, flagsTypedOtherwise(this.argv, flags));
    // A run id given by hand and not found: the runs it could have meant (an id cut short), from the store the command opened.
    const deps = flts.code === 'FLTS_RUN_NOT_FOUND' && this.builtSettings ? await this.built?.catch(() => undefined) : undefined;
    if (deps && this.builtSettings) flts = await namingRunsLike(flts, deps.store, this.builtSettings);
    const exitCode = reportError(flts, { json: this.jsonEnabled() || asksJsonByValue(this.argv), debug: this.debugErrors || process.argv.includes('--debug'), theme: this.config.theme?.json });
    process.exitCode = exitCode;
    await stdoutFlushed();
    this.exit(exitCode);
  }

  /**
   * A usage line written by hand (a command whose flags exclude each other, which oclif's generated line garbles)
   * with the global flags after it, as oclif's own lines have them: `--home` or `--config` is as much part of a call.
   */
  static usageWithGlobalFlags(line: string): string {
    const globals = Object.entries(FltsCommand.baseFlags)
      // Whole names: `[--config-hash <value>]` is not `[--config <value>]`.
      .filter(([name]) => !line.includes(`[--${name} `) && !line.includes(`[--${name}]`))
      .map(([name, flag]) => (flag.type === 'boolean' ? `[--${name}]` : `[--${name} <value>]`));
    return `${line} ${globals.join(' ')}`;
  }

  /** Every command's result in the one field style of its `--json`, snake_case (see snakeCaseKeys). */
  protected override toSuccessJson(result: unknown): unknown {
    return { status: 'ok', result: snakeCaseKeys(result) };
  }
}

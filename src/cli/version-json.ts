import type { Hook, Interfaces } from '@oclif/core';

/** What `flts --version --json` answers, in the envelope of every command's --json result. */
export interface VersionResult {
  name: string;
  version: string;
  node: string;
  platform: string;
  arch: string;
  /** oclif's plain `--version` line, which carries all of the above: `flts/0.1.0 linux-x64 node-v24.22.3`. */
  user_agent: string;
}

export function versionResult(config: Pick<Interfaces.Config, 'name' | 'version' | 'platform' | 'arch' | 'userAgent'>): VersionResult {
  return { name: config.name, version: config.version, node: process.version, platform: config.platform, arch: config.arch, user_agent: config.userAgent };
}

/**
 * oclif's `init` hook. oclif answers `--version` with its plain line before any command runs, so `flts --version
 * --json` gave a script text where every command gives JSON, and `flts --json --version` was refused as a command
 * line without a command. Asked for with --json (either order) or FLTS_CONTENT_TYPE=json, the version is the JSON
 * envelope instead; plain `flts --version` keeps oclif's line.
 */
const versionJson: Hook.Init = async function ({ id, argv, config }) {
  const words = id === undefined ? [...argv] : [id, ...argv];
  const end = words.indexOf('--');
  const options = end === -1 ? words : words.slice(0, end);
  const versionAsked = options[0] === '--version' || (options[0] === '--json' && options[1] === '--version');
  if (!versionAsked) return;
  const { jsonRequested, stdoutFlushed } = await import('./report-error.js');
  if (!jsonRequested(options, config)) return;
  const { ux } = await import('@oclif/core');
  ux.stdout(ux.colorizeJson({ status: 'ok', result: versionResult(config) }, { pretty: true, theme: config.theme?.json }));
  await stdoutFlushed();
  // oclif carries on after a hook's exit(0) (only a non-zero exit stops it), and would print its plain line as well.
  process.exit(0);
};

export default versionJson;

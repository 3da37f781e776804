/**
 * The variable that marks this process as a CI job, as ink reads it (is-in-ci: CI, CONTINUOUS_INTEGRATION or any CI_*
 * variable, unless CI is "0" or "false"), or undefined. Where one is set ink draws no frame until the screen ends, so
 * a screen would wait for keys behind a blank terminal, or hang a job that runs with a pseudo-terminal.
 */
export function ciVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CI === '0' || env.CI === 'false') return undefined;
  if ('CI' in env) return 'CI';
  if ('CONTINUOUS_INTEGRATION' in env) return 'CONTINUOUS_INTEGRATION';
  return Object.keys(env).find((name) => name.startsWith('CI_'));
}

import { describe, expect, it } from 'vitest';
import { TOOL_ENV_NAMES } from '../core/config/tool-env.js';
import { envSuggestions, unknownEnvNames, unknownEnvNamesOnce } from './unknown-env.js';

describe('cli > unknown FLTS_ variables', () => {
  it('suggests the settings a few edits away, else those sharing its words, at most three', () => {
    expect(envSuggestions('FLTS_KAFKA_CONNECT_TIMEOUT_MS')).toEqual(['FLTS_KAFKA_CONNECTION_TIMEOUT_MS']);
    expect(envSuggestions('FLTS_SERVE_PROT')).toEqual(['FLTS_SERVE_PORT']);
    expect(envSuggestions('FLTS_LOGLEVEL')).toEqual(['FLTS_LOG_LEVEL', 'LOG_LEVEL']);
    const timeouts = envSuggestions('FLTS_KAFKA_TIMEOUT');
    expect(timeouts).toHaveLength(3);
    for (const name of timeouts) expect(name).toMatch(/^FLTS_KAFKA_\w+_TIMEOUT_MS$/);
    expect(envSuggestions('FLTS_FOO_BAR')).toEqual([]);
    expect(envSuggestions(`FLTS_${'Y'.repeat(10_000)}`)).toEqual([]);
  });

  it('leaves settings, tool variables and other prefixes alone, and says the name but never the value', () => {
    const env = { FLTS_SERVE_PORT: '1', EPOCHS: '2', FLTS_OPERATOR: 'x', PATH: '/bin', FLTS_FOO_BAR: 'secret-value', FLTS_SERVE_PROT: 'secret-value' };
    for (const name of Object.keys(TOOL_ENV_NAMES)) expect(unknownEnvNames({ [name]: 'x' }), name).toEqual([]);
    const found = unknownEnvNames(env);
    expect(found.map(({ name, meant }) => ({ name, meant }))).toEqual([{ name: 'FLTS_FOO_BAR', meant: [] }, { name: 'FLTS_SERVE_PROT', meant: ['FLTS_SERVE_PORT'] }]);
    expect(found[0].reason).toMatch(/^FLTS_FOO_BAR is not a flts setting and is ignored; docs\/config\.md/);
    expect(JSON.stringify(found)).not.toContain('secret-value');
  });

  it('names each variable once per process', () => {
    expect(unknownEnvNamesOnce({ FLTS_FOO_BAR: '1' }).map(({ name }) => name)).toEqual(['FLTS_FOO_BAR']);
    expect(unknownEnvNamesOnce({ FLTS_FOO_BAR: '1', FLTS_SERVE_PROT: '1' }).map(({ name }) => name)).toEqual(['FLTS_SERVE_PROT']);
    expect(unknownEnvNamesOnce({ FLTS_FOO_BAR: '1', FLTS_SERVE_PROT: '1' })).toEqual([]);
  });
});

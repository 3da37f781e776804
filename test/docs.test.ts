import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderChartSettingNames, renderChartStopBudget, renderConfigDoc, renderErrorsDoc } from '../scripts/render-docs.js';
import { DLQ_PREFIX, pipelineTopics } from '../src/core/bus/topics.js';
import Daemon from '../src/commands/daemon.js';
import { defaultSettings } from '../src/core/config/settings.js';
import { ERROR_CATALOGUE, FltsError, isServiceRefusal, type ErrorCode } from '../src/core/errors.js';

const read = (name: string): string => readFileSync(new URL(`../docs/${name}`, import.meta.url), 'utf8');

describe('docs', () => {
  it('errors.md lists exactly the error catalogue (run `npm run docs` after changing it)', () => {
    expect(read('errors.md')).toBe(renderErrorsDoc());
  });

  it('config.md lists exactly the declared settings (run `npm run docs` after changing them)', () => {
    expect(read('config.md')).toBe(renderConfigDoc());
  });

  it('the Helm chart checks its values against exactly the declared settings (run `npm run docs` after changing them)', () => {
    expect(readFileSync(new URL('../charts/flts/files/settings-env.yaml', import.meta.url), 'utf8')).toBe(renderChartSettingNames());
  });

  it('the Helm chart checks daemon values against exactly the daemon\'s stop bounds (run `npm run docs` after changing them)', () => {
    expect(readFileSync(new URL('../charts/flts/files/stop-budget.yaml', import.meta.url), 'utf8')).toBe(renderChartStopBudget());
  });

  it('daemon/README.md lists exactly the dead-letter topics flts creates and writes', () => {
    const readme = readFileSync(new URL('../daemon/README.md', import.meta.url), 'utf8');
    const section = readme.split('## Dead-letter topics')[1]?.split(/\n## /)[0] ?? '';
    const documented = [...section.matchAll(/^\| `([^`]+)`/gm)].map((match) => match[1]);
    const created = pipelineTopics(defaultSettings()).filter((topic) => topic.startsWith(DLQ_PREFIX));
    // `flts preprocess` writes its own, by that name (test/preprocess-workflow.test.ts), and creates it with its first letter.
    expect(documented.sort()).toEqual([...created, `${DLQ_PREFIX}preprocess`].sort());
  });

  it('flts daemon --help names exactly the service refusals that end its startup at once (isServiceRefusal)', () => {
    const listed = /\(((?:FLTS_[A-Z_]+, )+FLTS_[A-Z_]+)\) ends it at once/.exec(Daemon.description ?? '')?.[1].split(', ') ?? [];
    const refusals = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((code) => isServiceRefusal(new FltsError(code, code)));
    expect(listed.sort()).toEqual(refusals.sort());
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderChartSettingNames, renderConfigDoc, renderErrorsDoc } from '../scripts/render-docs.js';

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
});

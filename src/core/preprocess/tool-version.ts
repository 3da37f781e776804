import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The flts version recorded in sidecars (from package.json, two levels above both src/ and dist/). */
export function toolVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}

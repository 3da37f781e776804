// The build starts from an empty dist/: tsc only adds and overwrites files, so a module whose source is gone, or
// compiled tests from a `tsc` run on another config, would otherwise stay in dist/ and in the packed package.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

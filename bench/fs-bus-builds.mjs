// The builds a file-bus bench compares, each with its createFsBus: `--base <dir>` (a second checkout with its own
// `npm run build`, e.g. main's) as "before" and this checkout as "after", or this checkout alone as "this".
import path from 'node:path';

/** @param {string | undefined} base */
export async function fsBusBuilds(base) {
  const builds = [
    ...(base ? [{ label: 'before', root: path.resolve(base) }] : []),
    { label: base ? 'after' : 'this', root: path.resolve(import.meta.dirname, '..') },
  ];
  for (const build of builds) build.createFsBus = (await import(`${build.root}/dist/core/bus/fs-bus.js`)).createFsBus;
  return builds;
}

import { fileURLToPath } from 'node:url';

// flts has no plugins of its own users add, and oclif would look for them in `<FLTS_DATA_DIR>/package.json`: its
// scoped data-directory variable is the name flts gives the directory of data files (`--dataset NAME`). A data
// directory holding a package.json would have oclif warn about it on every command, or load and run the plugins
// it names; with user plugins off, oclif reads nothing there.
/** oclif's load options for the `flts` executable whose entry module is `entryUrl`. */
export function cliLoadOptions(entryUrl) {
  return { root: fileURLToPath(entryUrl), userPlugins: false };
}

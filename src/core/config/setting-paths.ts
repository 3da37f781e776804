import type { Settings } from './specs/index.js';

/** What a setting holds: the settings tree ends at these (a list is one setting, not a group). */
type SettingLeaf = string | number | boolean | null | readonly unknown[];

type LeafPaths<Tree> = { [Key in keyof Tree & string]: Tree[Key] extends SettingLeaf ? Key : `${Key}.${LeafPaths<Tree[Key]>}` }[keyof Tree & string];

type ValueAt<Tree, Path extends string> = Path extends `${infer Key}.${infer Rest}` ? (Key extends keyof Tree ? ValueAt<Tree[Key], Rest> : never) : Path extends keyof Tree ? Tree[Path] : never;

/**
 * Every setting's dot path (`training.epochs`, `serve.predictionLog.enabled`), derived from the Settings tree, so a
 * path that names no setting fails to compile where a caller writes it. The specs (specs/*.ts) declare the same
 * paths; test/library-types.test.ts compiles every spec path (and its default) against this type, both ways.
 */
export type SettingPath = LeafPaths<Settings>;

/** The value a setting holds once resolved (a list may be given read-only). */
export type SettingValue<Path extends SettingPath> = ValueAt<Settings, Path> extends Array<infer Item> ? readonly Item[] : ValueAt<Settings, Path>;

/**
 * Flag values by setting path, as resolveSettings() takes them: the setting's own type, or text parsed as the
 * environment's is (`'2'` for an integer, `'NAIVE,LSTM'` for a list); an undefined entry is ignored.
 */
export type SettingFlags = { readonly [Path in SettingPath]?: SettingValue<Path> | string | undefined };

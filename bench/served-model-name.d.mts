/** serve.modelName of the build in `root` for a server started with `env` (FLTS_SERVE_MODEL_NAME, else the default). */
export function servedModelName(env?: NodeJS.ProcessEnv, root?: string): Promise<string>;
/** /v2/models/<name>, the name escaped as one path element. */
export function modelPath(name: string): string;

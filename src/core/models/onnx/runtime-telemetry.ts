/** ONNX Runtime's own switch for its telemetry (1.29 and later, Linux and macOS builds). */
export const ONNX_TELEMETRY_SWITCH = 'ORT_DISABLE_TELEMETRY';

/**
 * Turns ONNX Runtime's telemetry off for this process unless the environment already gives the switch a value.
 * Since 1.29 the official Linux and macOS builds send usage events to Microsoft, keep a device id and an event
 * database under ~/.cache/Microsoft and leave an empty $TMPDIR/mat-debug-<pid>.log behind in every process that
 * creates a session. The Node binding exposes no option for it (1.30: `env` has the log level, debug, trace and the
 * web backends' flags; `initOrtOnce` creates the runtime's environment from a log level alone), and the C API's
 * DisableTelemetryEvents, which it does not bind, would come after the runtime has started its telemetry (CreateEnv
 * logs the process's first event); so the library, too, sets the variable, and says so (examples/README.md). Native
 * code reads it from the process's real environment when the first session is created. A worker thread's
 * `process.env` is a copy that native code never sees, so a thread that starts a worker which may load ONNX Runtime
 * calls this before starting it.
 */
export function keepOnnxTelemetryOff(env: NodeJS.ProcessEnv = process.env): void {
  // Empty counts as unset: ONNX Runtime reads it as "on", and an empty value is what a template passes for a variable nobody set.
  if (!env[ONNX_TELEMETRY_SWITCH]) env[ONNX_TELEMETRY_SWITCH] = '1';
}

/**
 * One catalogue of every error flts can raise. The `kind` of an entry decides both the CLI exit code and
 * the HTTP status (see `exitCodeFor` / `httpStatusFor`), so a new error never needs its own mapping; the few
 * whose HTTP meaning is more specific than their kind's (401, 403, 405, 408, 413, 429, 499) name it as `httpStatus`.
 * docs/errors.md has a row per code; a test keeps the two in step. Retired codes are never reused.
 */

import { clip } from './clip-text.js';
import { MODEL_TYPES } from './model-types.js';

export type ErrorKind = 'usage' | 'input' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

interface CatalogueEntry {
  readonly kind: ErrorKind;
  readonly retriable: boolean;
  readonly hint: string;
  /** The HTTP status when it is more specific than the kind's (clients and proxies act on 401, 429...). */
  readonly httpStatus?: number;
}

export const ERROR_CATALOGUE = {
  FLTS_CONFIG_INVALID_VALUE: { kind: 'usage', retriable: false, hint: 'Fix the flag, environment variable or config-file key the message names: `flts <command> --help` lists each flag\'s accepted values, docs/config.md every setting\'s.' },
  FLTS_CONFIG_UNKNOWN_KEY: { kind: 'usage', retriable: false, hint: 'Remove or correct the key; docs/config.md lists every setting.' },
  FLTS_CONFIG_FILE_UNREADABLE: { kind: 'usage', retriable: false, hint: 'Check the path given to --config and that the file is valid JSON.' },
  FLTS_USAGE_INVALID_FLAG: { kind: 'usage', retriable: false, hint: 'Run the command with --help to see its flags.' },
  FLTS_USAGE_UNKNOWN_COMMAND: { kind: 'usage', retriable: false, hint: 'The command comes first (`flts <command> [flags]`); `flts --help` lists the commands.' },
  FLTS_USAGE_INVALID_ARGUMENT: { kind: 'usage', retriable: false, hint: 'A function of the flts library was given an argument it cannot use; the message names the function and the argument. Settings come from resolveSettings(), a store from createObjectStore() or createFsStore(); the types in the package (dist/core/index.d.ts) give every argument\'s shape.' },
  FLTS_STORE_KEY_INVALID: { kind: 'input', retriable: false, hint: 'Object keys are relative, use "/" separators and never contain "..".' },
  FLTS_STORE_KEY_OUTSIDE_ROOT: { kind: 'input', retriable: false, hint: 'Object keys must stay inside the store root.' },
  FLTS_STORE_PATH_OUTSIDE_ROOT: { kind: 'input', retriable: false, hint: 'A directory inside the store is a symbolic link that leads out of it; replace the link with a real directory, or point --home (FLTS_HOME) at the data.' },
  FLTS_PATH_UNUSABLE: { kind: 'usage', retriable: false, hint: 'Check that the path names a directory (or file) you may write, on a writable filesystem: --home (FLTS_HOME), the output files (--out, --plot, --export), the store root.' },
  FLTS_STORE_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'Check the bucket and key; `flts preprocess` writes processed data first.' },
  FLTS_STORE_UNAVAILABLE: { kind: 'unavailable', retriable: true, hint: 'Check that the object store is reachable and answering (S3: store.s3.endpoint, set by MINIO_ENDPOINT or FLTS_S3_ENDPOINT); it is waited for where flts runs as a service.' },
  FLTS_STORE_AUTH_FAILED: { kind: 'usage', retriable: false, hint: 'Check the S3 access key id (store.s3.accessKey: MINIO_ROOT_USER, MINIO_ACCESS_KEY or AWS_ACCESS_KEY_ID) and its secret (store.s3.secretKey: MINIO_ROOT_PASSWORD, MINIO_SECRET_KEY or AWS_SECRET_ACCESS_KEY), with temporary credentials their session token (store.s3.sessionToken: AWS_SESSION_TOKEN), and that they are the ones of the server at store.s3.endpoint. Settings are read at startup: restart after fixing them.' },
  FLTS_STORE_ACCESS_DENIED: { kind: 'usage', retriable: false, hint: 'The S3 server refuses the operation to this access key: a bucket policy or the key\'s permissions deny it. flts lists, reads and writes objects in its buckets and creates a missing bucket (or needs it created beforehand). Widen the policy, or use a key that has these permissions (restart after changing the key).' },
  FLTS_STORE_TLS_FAILED: { kind: 'usage', retriable: false, hint: 'The S3 server\'s certificate is not trusted or names another host: set FLTS_S3_CA_FILE (or NODE_EXTRA_CA_CERTS) to the CA that signed it, or use the name its certificate lists in the endpoint; an endpoint without TLS takes http:// (or MINIO_SECURE=false), one whose port speaks TLS https:// (or MINIO_SECURE=true).' },
  FLTS_DATA_UNREADABLE: { kind: 'input', retriable: false, hint: 'The file must be a CSV with a header row or a Parquet file.' },
  FLTS_DATA_FILE_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'Check the path given to --train / --test (or TRAIN_FILE / TEST_FILE); --dataset NAME reads NAME.csv and NAME_test.csv from FLTS_DATA_DIR (unset: the working directory, then the example data shipped with flts).' },
  FLTS_DATA_NOT_A_FILE: { kind: 'input', retriable: false, hint: 'Give a regular CSV or Parquet file; devices, pipes, sockets and directories are not read.' },
  FLTS_DATA_TOO_LARGE: { kind: 'input', retriable: false, hint: 'Sample the file down, or raise FLTS_DATA_MAX_INPUT_BYTES (FLTS_DATA_MAX_INPUT_ROWS for rows) if the machine has the memory for it.' },
  FLTS_DATA_MISSING_TIME_COLUMN: { kind: 'input', retriable: false, hint: "The data needs a 'time' column with timestamps." },
  FLTS_DATA_INVALID_TIMESTAMPS: { kind: 'input', retriable: false, hint: 'Every time cell must be a date and time such as "2018-02-05 23:40:00" (read as UTC), ISO 8601 with an offset (in every text cell of the column or in none), an epoch number of 10, 13, 16 or 19 digits (seconds, milliseconds, microseconds or nanoseconds), or a digits-only date such as 20180205234000.' },
  FLTS_DATA_MISSING_COLUMNS: { kind: 'input', retriable: false, hint: 'The data file lacks columns it must carry (the training columns, or the columns the served run reads); name the file that has them.' },
  FLTS_DATA_MISSING_VALUES: { kind: 'input', retriable: false, hint: 'Data to forecast over is not imputed: every value the model reads must be a finite number. Fill or drop the rows with empty cells, or forecast the processed test data, which preprocess imputed.' },
  FLTS_DATA_NO_NUMERIC_COLUMNS: { kind: 'input', retriable: false, hint: 'The data needs at least one numeric column besides time.' },
  FLTS_DATA_EMPTY: { kind: 'input', retriable: false, hint: 'The data has no rows to work on, or fewer than asked: the file named is empty or holds only its header, blank lines or rows of empty cells (an export cut short, or the wrong file), or the preprocessing step named (dropping sparse rows, adding lags) left none. Give the file with the data rows, or change the settings the message names.' },
  FLTS_DATA_OUT_OF_RANGE: { kind: 'input', retriable: false, hint: 'Store the column in larger units (divide it by a power of ten) or correct the value the message names; a value beyond the range scaled data can hold turns every loss and forecast into NaN.' },
  FLTS_DATA_TEST_OVERLAPS_TRAIN: { kind: 'input', retriable: false, hint: 'The test file continues the training file in time: at least one of its rows must come after the last training time (repeating the boundary row is fine, and only warned about). The message gives both files\' time ranges: check that --train and --test (TRAIN_FILE, TEST_FILE) are not swapped and are two files of one series, or split the data again at a time.' },
  FLTS_DATA_NOT_PROCESSED: { kind: 'not_found', retriable: false, hint: 'Run `flts preprocess` first (or pass --config-hash of existing processed data).' },
  FLTS_DATA_VERSION_GONE: { kind: 'not_found', retriable: false, hint: "The processed data version named (by an inference-data claim's config_hash, or a <config_hash>/ key) is no longer in the store, or was replaced while it was read, or the claim names none (a config_hash is 64 lower-case hex characters, as preprocess writes it); run `flts preprocess` with that version's settings again, or forecast the current processed data (processed-data/test_processed_data.parquet)." },
  FLTS_MODEL_UNKNOWN_TYPE: { kind: 'usage', retriable: false, hint: `Known model types: ${MODEL_TYPES.join(', ')}.` },
  FLTS_MODEL_NOT_FITTED: { kind: 'internal', retriable: false, hint: 'Fit the model before predicting.' },
  FLTS_MODEL_TARGET_MISSING: { kind: 'input', retriable: false, hint: 'The forecast target must be one of the processed columns.' },
  FLTS_MODEL_TOO_FEW_ROWS: { kind: 'input', retriable: false, hint: 'Provide more rows than the input window plus the horizon: the message names the rows needed and the setting to change (SAMPLE_TRAIN_ROWS or SAMPLE_TEST_ROWS of `flts preprocess`, INPUT_SEQ_LEN, OUTPUT_SEQ_LEN).' },
  FLTS_MODEL_TOO_LARGE: { kind: 'usage', retriable: false, hint: 'Lower the settings the message names (INPUT_SEQ_LEN, BATCH_SIZE, HIDDEN_SIZE, NUM_LAYERS) or sample the data (SAMPLE_TRAIN_ROWS); the message gives the size asked for and the limit.' },
  FLTS_MODEL_ARTIFACT_MISSING: { kind: 'not_found', retriable: false, hint: 'The run has no saved model; it may have failed or been deleted.' },
  FLTS_BACKEND_UNAVAILABLE: { kind: 'usage', retriable: false, hint: 'Choose one of the available backends: node, wasm, cpu.' },
  FLTS_TRAIN_FAILED: { kind: 'internal', retriable: false, hint: 'See the error recorded in the run (run.json).' },
  FLTS_TRAIN_DIVERGED: { kind: 'usage', retriable: false, hint: 'The training loss became NaN or infinite: the settings make the fit diverge. Lower LEARNING_RATE (--learning-rate) or CLIP_FACTOR, or check the data for values far outside the rest.' },
  FLTS_TRAIN_OPTIMIZER_FAILED: { kind: 'usage', retriable: false, hint: "Prophet's optimiser found no fit for the series. When the settings leave its trend fewer than two changepoints, the message names them and what gives it two: a larger CHANGEPOINT_RANGE (training.prophet.changepointRange) or N_CHANGEPOINTS (training.prophet.nChangepoints), or more training rows. Otherwise the series defeats it as it is: train the other model types without PROPHET (MODEL_TYPE, --model), or fit it on other rows or with other Prophet settings (CHANGEPOINT_PRIOR_SCALE, SEASONALITY_MODE)." },
  FLTS_TRAIN_ABORTED: { kind: 'conflict', retriable: false, hint: 'Training was stopped: a run in progress is recorded as KILLED, a model not yet started has no run; train again for what is missing. Stopped while the finished runs were mirrored to MLflow, the runs are complete and their mirror is left to the next sync (`flts train`, or the daemon\'s trainer).' },
  FLTS_TRAIN_STALLED: { kind: 'unavailable', retriable: true, hint: 'Said by /livez of flts daemon for its trainer role, and by flts train (exit code 6, naming the run) when training.stallTimeoutMs is set for it in the environment or the config file: the training under way has made no progress (no batch, epoch or chunk of its forecasts) for longer than training.stallTimeoutMs (FLTS_TRAIN_STALL_TIMEOUT_MS), a wedged worker or backend; /livez names no run (it answers anyone): the admin /status (stalled: true), the log line daemon_training_stalled and flts_daemon_training_stalled_since_timestamp_seconds name it and its last progress. The kubelet restarts the process on it (the Helm chart points the liveness probe at /livez); elsewhere, restart it. flts train exits there, and the next training of that type on this host marks the run KILLED at once. The run\'s heartbeat stops with the process and another trainer takes the claim once it expires; raise the bound if a legitimate step (a Prophet fit on much larger data) needs longer.' },
  FLTS_TRAIN_IN_PROGRESS: { kind: 'conflict', retriable: true, hint: 'Another process (a daemon\'s trainer, another `flts train`) is training this model type on the same processed data; the message names its run, host and pid. Let it finish (its run lands in the registry), pass --wait to train once it ends, or --allow-concurrent to train a second run beside it. A process that died does not block: its training claim is taken over and its run recorded as KILLED at once when its pid is gone from this host or it was an earlier instance of this container, restarted in place (on Kubernetes FLTS_POD_UID and FLTS_CONTAINER_NAME, under Docker Compose FLTS_INSTANCE_ID_FILE), else once its heartbeat has stood still for FLTS_DAEMON_LEASE_STALE_MS.' },
  FLTS_RUN_CORRUPT: { kind: 'input', retriable: false, hint: "A file of the run in the store is damaged or was edited (not JSON, fields missing, another run's id, model weights cut short); retrain, or restore the run's files from a backup." },
  FLTS_RUN_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'List runs with `flts eval`; run ids are printed by `flts train`.' },
  FLTS_RUN_NOT_SUCCESSFUL: { kind: 'conflict', retriable: false, hint: 'Only runs with status SUCCESS and their model files can be promoted; train the model again, or promote another run (`flts eval` lists them).' },
  FLTS_EVAL_NO_RUNS: { kind: 'not_found', retriable: false, hint: 'Train a model on the data first (`flts preprocess`, then `flts train`), or name data that has runs with --config-hash. The message names where runs were looked for: if that is not where training wrote them, fix the setting that names it (FLTS_RUNS_BUCKET; the store: FLTS_STORE, FLTS_HOME, MINIO_ENDPOINT; MLFLOW_TRACKING_URI).' },
  FLTS_EVAL_ABORTED: { kind: 'conflict', retriable: false, hint: 'The ranking was stopped (Ctrl-C or SIGTERM) before it ended: it changes nothing in the registry (plots of --plot are written whole again on the next run); run it again.' },
  FLTS_EVAL_GATE_FAILED: { kind: 'conflict', retriable: false, hint: 'The run does not pass the quality gate; use --force to promote anyway.' },
  FLTS_PROMOTE_NOTHING_TO_ROLLBACK: { kind: 'not_found', retriable: false, hint: 'A rollback returns to the run promoted before the current one. `flts promote --history` lists the scope\'s promotions (IDENTIFIER or --identifier names another scope); `flts promote --run <id>` promotes any run.' },
  FLTS_PROMOTE_CANDIDATE_INVALID: { kind: 'conflict', retriable: false, hint: 'The run forecasts non-finite values on its test windows (broken weights?); retrain it. --force does not override this.' },
  FLTS_PROMOTE_NO_TEST_WINDOWS: { kind: 'not_found', retriable: false, hint: 'The processed data the run was trained on is gone, so it cannot be checked before promotion; re-run `flts preprocess` with the same settings, or --force.' },
  FLTS_PROMOTE_ROLLBACK_STALE: { kind: 'conflict', retriable: false, hint: 'The promotion history moved on after the rollback was decided (another decider rolled back, or someone promoted); nothing was changed. `flts promote --history` shows what is in service.' },
  FLTS_PROMOTE_CHOSEN_RUN_STANDS: { kind: 'conflict', retriable: false, hint: 'A person pinned the run in service, and an automatic rollback never undoes a pin; nothing was changed. `flts promote --rollback` (a person\'s rollback) still returns to the run before it.' },
  FLTS_PROMOTE_CURRENT_CHANGED: { kind: 'conflict', retriable: false, hint: 'Another promotion replaced the run in service after the choice was compared with it; nothing was changed. Look again (`flts promote --history`, or open `flts promote-manual` anew) and decide.' },
  FLTS_PROMOTE_CONFLICT: { kind: 'conflict', retriable: true, hint: 'Another promotion changed the pointer at the same time; retry.' },
  FLTS_SERVE_LISTEN_FAILED: { kind: 'usage', retriable: false, hint: 'Choose a free port (flts serve --port, or FLTS_SERVE_PORT, which a daemon\'s serving role listens on too; 0 = any free one) and an address of this machine (--host or FLTS_SERVE_HOST).' },
  FLTS_SERVE_NO_MODEL: { kind: 'unavailable', retriable: true, hint: 'Promote a run (`flts promote --best`, or `flts promote --run <id>`), or pass --run <id> to use that run without promoting it.' },
  FLTS_SERVE_MODEL_INVALID: { kind: 'unavailable', retriable: false, hint: 'The run forecasts NaN or infinite values (broken weights?); promote another run or retrain it.' },
  FLTS_SERVE_TEST_DATA_UNAVAILABLE: { kind: 'unavailable', retriable: true, hint: "A forecast without data (POST /predict with no `data`) starts from the served run's processed test data, read from the object store once per loaded model; the store could not give it (the code in the message says why: FLTS_STORE_UNAVAILABLE, or a refusal of the server's credentials, access or certificate), and the server's log (request_failed) has the store's own message. Retry after the Retry-After seconds, or send the rows to forecast as `data`; the operator of the server fixes the store or its settings (store.s3.*)." },
  FLTS_SERVE_INFERENCE_FAILED: { kind: 'unavailable', retriable: true, hint: 'The inference thread stopped and is being restarted; retry the request.' },
  FLTS_SERVE_INFERENCE_STALLED: { kind: 'unavailable', retriable: true, hint: 'Said by /livez (of flts serve, and of flts daemon for its serving role): a forward pass of the served model has run past serve.requestTimeoutMs and forecasts wait behind it. The kubelet restarts the process on it (the Helm chart points the liveness probes at /livez); elsewhere, restart it.' },
  FLTS_LIVE_DISABLED: { kind: 'conflict', retriable: false, hint: 'Live scoring is turned off on this server; set FLTS_LIVE_SCORING=true to score actuals.' },
  FLTS_LIVE_EARLY_ACTUALS_TOO_MANY: { kind: 'input', retriable: false, httpStatus: 413, hint: 'A POST /actuals keeps the rows no forecast waits for yet, up to FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES of one series, so one client cannot push every other series\' rows out; send the rows of timestamps forecast already, or fewer rows ahead of their forecasts at a time. Nothing of the refused body was scored or kept.' },
  FLTS_REQUEST_INVALID: { kind: 'input', retriable: false, hint: 'Fix the request body as the message says.' },
  FLTS_FORECAST_NOT_FINITE: { kind: 'input', retriable: false, hint: 'Send values in the range the model was trained on; values this far outside it overflow its arithmetic.' },
  FLTS_REQUEST_UNKNOWN_PARAMETER: { kind: 'input', retriable: false, hint: 'Send only the query parameters the route reads (the message and GET /openapi.json name them); the request\'s other fields, such as identifier, go in its JSON body.' },
  FLTS_REQUEST_TOO_LARGE: { kind: 'input', retriable: false, httpStatus: 413, hint: 'Send a smaller request body.' },
  FLTS_REQUEST_UNSUPPORTED_MEDIA_TYPE: { kind: 'input', retriable: false, httpStatus: 415, hint: 'Send the body as JSON with `Content-Type: application/json` or another +json type such as application/vnd.api+json (with or without a charset parameter); text/plain and other types are not read as JSON. The OIP infer route reads its body whatever the type, for its binary extension.' },
  FLTS_REQUEST_BODY_STALLED: { kind: 'input', retriable: true, httpStatus: 408, hint: 'The request body stopped arriving part-way (no byte of it for FLTS_SERVE_BODY_IDLE_TIMEOUT_MS), or arrived slower than FLTS_SERVE_MIN_BODY_BYTES_PER_SEC, and the connection was closed (over gRPC, DEADLINE_EXCEEDED: the call\'s message arrived slower than that, and only its stream was reset); send the body as soon as its headers, without pauses, on a new connection.' },
  FLTS_REQUEST_ROUTE_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'GET /openapi.json lists every route of the API.' },
  FLTS_REQUEST_METHOD_NOT_ALLOWED: { kind: 'input', retriable: false, httpStatus: 405, hint: 'The Allow header lists the methods this route accepts.' },
  FLTS_AUTH_REQUIRED: { kind: 'input', retriable: false, httpStatus: 401, hint: 'Send the token as an `Authorization: Bearer <token>` header (FLTS_SERVE_ADMIN_TOKEN for admin routes, FLTS_SERVE_API_TOKEN for predictions).' },
  FLTS_AUTH_FORBIDDEN: { kind: 'input', retriable: false, httpStatus: 403, hint: 'Call the admin route from the server host itself (curl http://localhost:<port>/..., not through a proxy or from a web page), or set FLTS_SERVE_ADMIN_TOKEN and send it as a bearer token.' },
  FLTS_REQUEST_CROSS_SITE: { kind: 'input', retriable: false, httpStatus: 403, hint: 'The server takes no POST that a browser sends for a page of another site (Sec-Fetch-Site cross-site or same-site, an Origin other than the address called, or a page that reached it over loopback under a name that is not a loopback one: DNS rebinding): it sends no CORS headers, so such a page could never read the answer. Call it from a program (curl, an HTTP library, tritonclient), which sends neither header, or from a server-side backend of the page.' },
  FLTS_SERVE_OVERLOADED: { kind: 'unavailable', retriable: true, hint: 'The server has as many forecast rows in flight as it admits (FLTS_SERVE_MAX_QUEUED_ROWS); retry after the Retry-After seconds (gRPC: grpc-retry-pushback-ms), on this or another replica, or ask for fewer rows (inference_length).' },
  FLTS_SERVE_BODIES_IN_FLIGHT: { kind: 'unavailable', retriable: true, hint: 'The server holds as many request body bytes, of requests read or being read and not yet answered, as it admits (FLTS_SERVE_MAX_BODY_BYTES_IN_FLIGHT); retry after the Retry-After seconds (gRPC: grpc-retry-pushback-ms), on this or another replica, or send smaller bodies.' },
  FLTS_REQUEST_CANCELLED: { kind: 'input', retriable: false, httpStatus: 499, hint: 'The client closed the connection (or cancelled the gRPC call) before its answer was sent, so its forecast was dropped; a client that gives up early may need a longer timeout.' },
  FLTS_SERVE_STOPPING: { kind: 'unavailable', retriable: true, hint: 'The server is stopping (SIGTERM, a rollout or scale-down): its readiness (/readyz, /ready, /v2/health/ready, and /readyz on the health port of flts daemon) answers 503 from the moment the stop begins, and a request that reaches it once it has stopped listening is refused with Retry-After and Connection: close (a gRPC call, UNAVAILABLE with grpc-retry-pushback-ms); send it again on a new connection, which reaches another replica.' },
  FLTS_SERVE_RELOAD_RATE_LIMITED: { kind: 'unavailable', retriable: true, httpStatus: 429, hint: 'Wait for the Retry-After seconds; the server also re-reads the pointer on its own (FLTS_SERVE_POLL_INTERVAL_MS).' },
  FLTS_BUS_UNAVAILABLE: { kind: 'unavailable', retriable: true, hint: 'Check that the Kafka brokers are reachable (KAFKA_BOOTSTRAP_SERVERS) and that FLTS_KAFKA_SECURITY_PROTOCOL is the one of their listener: a broker that closes every connection at once usually expects TLS or a SASL login.' },
  FLTS_BUS_AUTH_FAILED: { kind: 'usage', retriable: false, hint: 'Check FLTS_KAFKA_SASL_USERNAME, FLTS_KAFKA_SASL_PASSWORD and FLTS_KAFKA_SASL_MECHANISM: the user must exist on the broker for that mechanism (SCRAM credentials are kept per mechanism, SCRAM-SHA-256 and SCRAM-SHA-512 apart), and the listener must enable it. Settings are read at startup: restart after fixing them.' },
  FLTS_BUS_ACCESS_DENIED: { kind: 'usage', retriable: false, hint: 'The login worked but the broker\'s ACLs do not allow the operation named: flts needs Describe and Create on its topics (or create them beforehand), Read and Write on them, and Read on its consumer groups.' },
  FLTS_BUS_TLS_FAILED: { kind: 'usage', retriable: false, hint: 'The broker\'s certificate is not trusted or names another host: set FLTS_KAFKA_SSL_CA_FILE to the CA that signed it, or connect by a name the certificate lists. A broker that asks for a client certificate needs FLTS_KAFKA_SSL_CERT_FILE and FLTS_KAFKA_SSL_KEY_FILE; a listener without TLS needs FLTS_KAFKA_SECURITY_PROTOCOL=PLAINTEXT or SASL_PLAINTEXT.' },
  FLTS_BUS_PROTOCOL_MISMATCH: { kind: 'usage', retriable: false, hint: 'The broker\'s listener speaks another protocol than FLTS_KAFKA_SECURITY_PROTOCOL says: a TLS listener needs SSL or SASL_SSL (and FLTS_KAFKA_SSL_CA_FILE when a private CA signed its certificate), a SASL listener SASL_PLAINTEXT or SASL_SSL with FLTS_KAFKA_SASL_MECHANISM, FLTS_KAFKA_SASL_USERNAME and FLTS_KAFKA_SASL_PASSWORD. Brokers often have one port per listener: check KAFKA_BOOTSTRAP_SERVERS names the one for that protocol. Settings are read at startup: restart after fixing them.' },
  FLTS_BUS_TOPIC_REFUSED: { kind: 'usage', retriable: false, hint: 'The brokers refuse to create flts\'s topics as asked, and will refuse it again: the message names the topics, the broker\'s reason and the setting to change (FLTS_BUS_REPLICATION_FACTOR at most the number of brokers, or -1 for their default; FLTS_BUS_PARTITIONS; the name of a topic), unless the topics are created beforehand. Settings are read at startup: restart after fixing them.' },
  FLTS_BUS_MESSAGE_TOO_LARGE: { kind: 'input', retriable: false, hint: 'The broker refuses this message as larger than the topic allows, and will refuse it every time: the message names the topic and the message\'s size. Raise the topic\'s max.message.bytes (kafka-configs.sh --alter --entity-type topics --entity-name <topic> --add-config max.message.bytes=<bytes>; the brokers\' message.max.bytes is the default of topics that set none), or send less. A dead letter the DLQ refuses so is written again without its payload; a DLQ that refuses even that keeps its message uncommitted until its limit is raised.' },
  FLTS_BUS_MESSAGE_INVALID: { kind: 'input', retriable: false, hint: 'The message does not match the topic contract; it goes to the DLQ.' },
  FLTS_OFFSETS_GROUP_ACTIVE: { kind: 'conflict', retriable: true, hint: 'Stop the group members or pass --wait.' },
  FLTS_OFFSETS_ABORTED: { kind: 'conflict', retriable: false, hint: 'replay-offsets was stopped (Ctrl-C or SIGTERM). A stop before the commit (while it plans, or while --wait waits for the group to empty) changed no offset: run it again. A stop during the commit waits for that commit to end, and a stop after it (an --export output waiting for a reader) leaves the new offsets committed: see where the group stands before running it again.' },
  FLTS_OFFSETS_TOPIC_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'Check the topic and partition numbers; --all-topics uses the topics the group has committed offsets for.' },
  FLTS_OFFSETS_NO_COMMITTED_OFFSET: { kind: 'not_found', retriable: false, hint: 'The group has committed nothing there; use an absolute target (--to-earliest, --to-offset, --to-datetime) or name the topics.' },
  FLTS_OFFSETS_PLAN_NOT_FOUND: { kind: 'not_found', retriable: false, hint: 'Check the path given to --from-file; `flts replay-offsets ... --export <file>` writes a plan there.' },
  FLTS_OFFSETS_PLAN_INVALID: { kind: 'input', retriable: false, hint: 'A plan file has one topic,partition,offset (or group,topic,partition,offset) line per partition, as --export writes it.' },
  FLTS_TRACKING_UNAVAILABLE: { kind: 'unavailable', retriable: true, hint: 'Check MLFLOW_TRACKING_URI; local tracking continues meanwhile.' },
  FLTS_TRACKING_REJECTED: { kind: 'input', retriable: false, hint: 'The MLflow server refused the request (its error code is in details); check the credentials and the experiment or run named.' },
  FLTS_EXPORT_UNSUPPORTED: { kind: 'input', retriable: false, hint: 'ONNX export covers LSTM and GRU runs (stacked layers, one linear dense layer); other model types have no network to export.' },
  FLTS_EXPORT_FAILED: { kind: 'internal', retriable: false, hint: 'The model could not be written as ONNX; see the message.' },
  FLTS_SERVE_ENGINE_UNAVAILABLE: { kind: 'unavailable', retriable: false, hint: 'ONNX Runtime (onnxruntime-node) could not be loaded on this platform; use FLTS_SERVE_ENGINE=auto or wasm.' },
  FLTS_BENCH_TARGET_UNAVAILABLE: { kind: 'unavailable', retriable: true, hint: 'The service under test did not become ready or did not answer; check --target (or the replicas\' log) and that a model is promoted.' },
  FLTS_PREPROCESS_ABORTED: { kind: 'conflict', retriable: false, hint: 'Preprocessing was stopped (Ctrl-C or SIGTERM) before it ended. The latest processed data is the version before it, or the version it was writing, cut short: train, eval and predict refuse that one as mixed (its files carry other write stamps than its sidecars) rather than read it. With a bus (FLTS_BUS), its training-data and inference-data claims may not have gone out. Run the same preprocess again: it writes the version whole (or finds it complete) and publishes the claims.' },
  FLTS_PROMOTE_ABORTED: { kind: 'conflict', retriable: false, hint: 'Promote was stopped (Ctrl-C or SIGTERM). Stopped before it wrote to the promotion history, it promoted nothing. A stop while it wrote the history and pointers waited for that write, so they agree; stopped after it, the model-selected notice and the MLflow mark may be missing (replicas still follow the pointers by polling; the next MLflow sync, of `flts train` or of the trainer role of the daemon, writes the mark). `flts promote --history` shows the run in service.' },
  FLTS_EXPORT_ABORTED: { kind: 'conflict', retriable: false, hint: 'The export was stopped (Ctrl-C or SIGTERM). Stopped before it wrote the output file, it wrote nothing and a file already there is as it was; a stop while it wrote the file waited for it to be written whole. Run it again for the file.' },
  FLTS_PREDICT_NO_PROMOTION: { kind: 'not_found', retriable: false, hint: 'Promote a run (`flts promote --best`, or `flts promote --run <id>`), or pass --run <id> to forecast with that run without promoting it.' },
  FLTS_PREDICT_ABORTED: { kind: 'conflict', retriable: false, hint: 'Batch inference was stopped (Ctrl-C or SIGTERM) before it ended: run the same predict again; a result cut short is then completed, not recorded twice (same run, same data, one record).' },
  FLTS_BACKTEST_ABORTED: { kind: 'conflict', retriable: false, hint: 'The backtest was stopped (Ctrl-C or SIGTERM) before it ended: nothing was stored, and the backtest stored before it, if any, stands; run it again.' },
  FLTS_BENCH_ABORTED: { kind: 'conflict', retriable: false, hint: 'The benchmark was interrupted (Ctrl-C or SIGTERM): the replicas it started were stopped, and its report is incomplete: no result files when stopped while it ran, only those written before the stop when stopped while an output waited for a reader (a named pipe); run it again.' },
  FLTS_BENCH_AUTH_FAILED: { kind: 'usage', retriable: false, hint: 'The service under test refused bench\'s credentials (HTTP 401 or 403, gRPC UNAUTHENTICATED or PERMISSION_DENIED). bench sends serve.apiToken (FLTS_SERVE_API_TOKEN, or the config file) as a bearer token: set it to the token the service was started with. With --compare FLTS_SERVE_API_TOKEN=a,b each group is sent its own value.' },
  FLTS_BENCH_REPORT_EXISTS: { kind: 'conflict', retriable: false, hint: 'The --out directory holds the report of an earlier bench (bench.csv, bench.md, bench.json, bench.svg; the message names those there), which is kept: give another --out, leave --out out (each run writes a new bench-results/<start time>/), or pass --force to replace it.' },
  FLTS_BENCH_FAILED: { kind: 'internal', retriable: false, hint: 'See the error; the servers under test may have failed to start.' },
  FLTS_INTERNAL: { kind: 'internal', retriable: false, hint: 'This is a bug in flts; please report it with the command and --debug output.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const EXIT_CODE_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  usage: 2,
  input: 3,
  not_found: 4,
  conflict: 5,
  unavailable: 6,
  internal: 1,
};

export const HTTP_STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  usage: 400,
  input: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

export type ErrorDetails = Record<string, unknown>;

/**
 * The most an error's message and each text of its details hold. A message quotes what a user, a file or a message
 * supplied (a flag value, a path, a field); quoted whole, a 100,000-character flag made a 300 KB error that a
 * terminal scrolls through and that oclif's process.exit cut short in a pipe. Sites clip what they quote (clip-text);
 * this bounds the sites that do not.
 */
const MESSAGE_CHARS = 2_000;
const DETAIL_CHARS = 1_000;

function clipDetails(details: ErrorDetails): ErrorDetails {
  if (!Object.values(details).some((value) => typeof value === 'string' && value.length > DETAIL_CHARS)) return details;
  return Object.fromEntries(Object.entries(details).map(([name, value]) => [name, typeof value === 'string' ? clip(value, DETAIL_CHARS) : value]));
}

export class FltsError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly hint: string;
  readonly retriable: boolean;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown; hint?: string } = {}) {
    super(clip(message, MESSAGE_CHARS), options.cause === undefined ? undefined : { cause: options.cause });
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.name = 'FltsError';
    this.code = code;
    this.kind = entry.kind;
    this.retriable = entry.retriable;
    this.hint = options.hint ?? entry.hint;
    this.details = clipDetails(options.details ?? {});
  }

  toJSON(): { code: ErrorCode; kind: ErrorKind; message: string; hint: string; details: ErrorDetails } {
    return { code: this.code, kind: this.kind, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isFltsError(value: unknown): value is FltsError {
  return value instanceof FltsError;
}

/**
 * A store or broker that answers but refuses flts: its credentials, its permissions, its certificate, its
 * listener's protocol or the topics it asks for. Like an
 * outage, and unlike a bad message or a missing object, it fails every call alike whatever is asked; unlike an
 * outage, waiting does not mend it (these codes are not retriable): the settings must change.
 */
const REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['FLTS_STORE_AUTH_FAILED', 'FLTS_STORE_ACCESS_DENIED', 'FLTS_STORE_TLS_FAILED', 'FLTS_BUS_AUTH_FAILED', 'FLTS_BUS_ACCESS_DENIED', 'FLTS_BUS_TLS_FAILED', 'FLTS_BUS_PROTOCOL_MISMATCH', 'FLTS_BUS_TOPIC_REFUSED']);

export function isServiceRefusal(value: unknown): boolean {
  return isFltsError(value) && REFUSAL_CODES.has(value.code);
}

/**
 * A code of a failure no input of the work causes: an outage (a code of kind `unavailable` that is retriable) or a
 * service's refusal (isServiceRefusal). What a recorded failure keeps of its error is the code, which this judges
 * as the bus judges a live error (isOutage in bus/delivery.ts).
 */
export function isOutageCode(code: string): boolean {
  const entry: CatalogueEntry | undefined = (ERROR_CATALOGUE as Record<string, CatalogueEntry>)[code];
  return (entry !== undefined && entry.kind === 'unavailable' && entry.retriable) || REFUSAL_CODES.has(code as ErrorCode);
}

/**
 * What a log line that repeats while its cause lasts (a heartbeat, a resync, a probation look) says of a failure: an
 * outage (isOutageCode) by its code and reason, since the stack on each of those lines only buried them, and any
 * other failure whole (`err`, its stack included), as it is flts' own. The caller writes the line.
 */
export function repeatedFailureFields(error: unknown): { code: string; reason: string } | { err: unknown } {
  return isFltsError(error) && isOutageCode(error.code) ? { code: error.code, reason: error.message } : { err: error };
}

/**
 * For a read whose absence has a fallback (`.catch(orUnlessUnavailable(undefined))`): any failure gives the
 * fallback except an unreachable or refusing service, which would only fail the next read the same way.
 */
export function orUnlessUnavailable<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if ((isFltsError(error) && error.kind === 'unavailable') || isServiceRefusal(error)) throw error;
    return fallback;
  };
}

/** Filesystem refusals that say the path given is wrong for the job, not that flts has a bug. */
const PATH_ERRNO: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only filesystem',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  // A named pipe (or socket) given as an output: it is opened without waiting for a reader, and its reader may leave.
  ENXIO: 'a pipe or socket that no process reads',
  EPIPE: 'its reader closed it before the output was whole',
  // Readers report missing input under their own codes; a missing path left over is one to write (--out in a directory that does not exist).
  ENOENT: 'it or a directory above it does not exist',
};

/** What a system call was doing, in words: "Cannot realpath /data/store" names a function, not what failed. */
const SYSCALL_ACTION: Readonly<Record<string, string>> = {
  access: 'look up',
  lstat: 'look up',
  realpath: 'look up',
  stat: 'look up',
  open: 'open',
  opendir: 'list',
  readdir: 'list',
  scandir: 'list',
  read: 'read',
  write: 'write',
  mkdir: 'create the directory',
  copyfile: 'copy to',
  rename: 'move',
  link: 'link',
  symlink: 'link',
  rmdir: 'remove',
  rm: 'remove',
  unlink: 'remove',
};

const actionOf = (syscall: string | undefined): string => (syscall !== undefined && Object.hasOwn(SYSCALL_ACTION, syscall) ? SYSCALL_ACTION[syscall]! : 'use');

/** An operating-system error on a path (errno code, syscall and path set by Node) as a coded error. */
function fromSystemError(value: unknown): FltsError | undefined {
  const error = value as NodeJS.ErrnoException;
  if (!(value instanceof Error) || typeof error.code !== 'string' || typeof error.path !== 'string') return undefined;
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
    // Retriable like a store that does not answer (a daemon waits for space), but the store's hint would mislead.
    const what = error.code === 'ENOSPC' ? 'No space left on the device' : 'The disk quota is exhausted';
    return new FltsError('FLTS_STORE_UNAVAILABLE', `${what} while writing ${error.path}.`, {
      cause: value,
      details: { path: error.path, errno: error.code },
      hint: 'Free space on the filesystem that holds the path (`df` shows it), or write elsewhere (--home, --out).',
    });
  }
  const reason = PATH_ERRNO[error.code];
  if (!reason) return undefined;
  return new FltsError('FLTS_PATH_UNUSABLE', `Cannot ${actionOf(error.syscall)} ${error.path}: ${reason} (${error.code}).`, { cause: value, details: { path: error.path, errno: error.code } });
}

/** Wraps anything thrown into an FltsError, keeping FltsErrors as they are. */
export function toFltsError(value: unknown): FltsError {
  if (isFltsError(value)) return value;
  // process.cwd() in a directory removed under the process (a CI step that deleted the checkout it runs in) names no path.
  if (value instanceof Error && (value as NodeJS.ErrnoException).syscall === 'uv_cwd') {
    return new FltsError('FLTS_PATH_UNUSABLE', `The working directory no longer exists: it was removed while the command, or the shell that started it, was in it (${(value as NodeJS.ErrnoException).code}).`, {
      cause: value,
      details: { path: '.', errno: (value as NodeJS.ErrnoException).code },
      hint: 'Change to a directory that exists (`cd` again, also when a directory of that name has been made anew) and run the command there.',
    });
  }
  const system = fromSystemError(value);
  if (system) return system;
  const message = value instanceof Error ? value.message : String(value);
  return new FltsError('FLTS_INTERNAL', message, { cause: value });
}

/**
 * A failure as a worker thread posts it to its parent: the error's code when it has one, its message and, from an
 * FltsError, its details and hint (what a caller or a JSON error body shows: the line, the column, the limit).
 */
export interface WorkerFailure {
  code?: string;
  message: string;
  details?: ErrorDetails;
  hint?: string;
}

/**
 * Details as postMessage can carry them: a structured clone, else their JSON form (details are meant to be JSON-safe;
 * a function or symbol in them would make postMessage throw, and the failure would be lost for a DataCloneError).
 */
function cloneableDetails(details: ErrorDetails): ErrorDetails | undefined {
  try {
    return structuredClone(details);
  } catch {
    try {
      return JSON.parse(JSON.stringify(details)) as ErrorDetails;
    } catch {
      return undefined;
    }
  }
}

export function workerFailureOf(error: unknown): WorkerFailure {
  const failure: WorkerFailure = { code: (error as { code?: string } | undefined)?.code, message: error instanceof Error ? error.message : String(error) };
  if (!isFltsError(error)) return failure;
  const details = Object.keys(error.details).length > 0 ? cloneableDetails(error.details) : undefined;
  return { ...failure, ...(details ? { details } : {}), hint: error.hint };
}

/** The error a worker posted, under its own code (with its details and hint) when the catalogue has it, else under `fallback`. */
export function errorFromWorker(failure: WorkerFailure, fallback: ErrorCode): FltsError {
  const known = failure.code !== undefined && failure.code in ERROR_CATALOGUE;
  return new FltsError(known ? (failure.code as ErrorCode) : fallback, failure.message, {
    ...(failure.details ? { details: failure.details } : {}),
    ...(known && failure.hint !== undefined ? { hint: failure.hint } : {}),
  });
}

export function exitCodeFor(error: unknown): number {
  return EXIT_CODE_BY_KIND[toFltsError(error).kind];
}

/** The HTTP status of an error code: its own when the catalogue names one, else its kind's. */
export function httpStatusOfCode(code: ErrorCode): number {
  const entry: CatalogueEntry = ERROR_CATALOGUE[code];
  return entry.httpStatus ?? HTTP_STATUS_BY_KIND[entry.kind];
}

export function httpStatusFor(error: unknown): number {
  return httpStatusOfCode(toFltsError(error).code);
}

/**
 * FLTS_ variables that are not settings but belong to the project: read by flts itself outside the settings, or by
 * its scripts, tests, benches and compose file. An FLTS_ variable that is neither a setting's environment name nor
 * listed here is warned about at startup (settings_env_unknown), so a shell that keeps these for the tooling runs the
 * CLI without noise. A tool that reads a new FLTS_ variable lists it here: test/env-names.test.ts fails on an FLTS_
 * name of the repository that is neither.
 */
export const TOOL_ENV_NAMES: Readonly<Record<string, string>> = {
  // Read by flts outside the settings.
  FLTS_OPERATOR: 'who runs a command, for the records it writes (a promotion\'s actor); src/cli/operator.ts',
  FLTS_CONTENT_TYPE: 'json asks for JSON output before a command is parsed (--version, errors); src/cli/report-error.ts',
  FLTS_HEALTH_URL: 'the URL the image\'s HEALTHCHECK probes (bin/healthcheck.js)',
  // Local servers for development and tests (scripts/infra/infra.sh).
  FLTS_INFRA_DIR: 'where infra.sh keeps its servers\' state',
  FLTS_INFRA_CACHE: 'where infra.sh keeps downloaded server distributions',
  FLTS_INFRA_TIMEOUT: 'how long infra.sh waits for a server to answer',
  FLTS_INFRA_KAFKA_PORT: 'the local Kafka broker\'s port',
  FLTS_INFRA_KAFKA_CONTROLLER_PORT: 'the local Kafka controller\'s port',
  FLTS_INFRA_KAFKA_PROPERTIES: 'extra server.properties for the local broker',
  FLTS_INFRA_KAFKA_SECURE_PORTS: 'the local broker\'s TLS/SASL listener ports',
  FLTS_INFRA_S3_BACKEND: 'the local S3 server\'s backend',
  FLTS_INFRA_S3_PORT: 'the local S3 server\'s port',
  FLTS_INFRA_S3_USER: 'the local S3 server\'s access key',
  FLTS_INFRA_S3_PASSWORD: 'the local S3 server\'s secret key',
  // The local MLflow server (scripts/mlflow).
  FLTS_MLFLOW_CACHE: 'where the MLflow scripts keep downloads',
  FLTS_MLFLOW_PYTHON: 'the Python the MLflow server runs on',
  FLTS_MLFLOW_STATE: 'where the local MLflow server keeps its state',
  FLTS_MLFLOW_START_TIMEOUT: 'how long up.sh waits for MLflow to answer',
  FLTS_MLFLOW_VERSION: 'the MLflow version installed',
  FLTS_MLFLOW2_VERSION: 'the MLflow 2 release check-mlflow2.sh checks flts against',
  FLTS_MLFLOW2_CACHE: 'where check-mlflow2.sh keeps its MLflow 2 server and client venvs',
  // Other tool installs and the CI runner.
  FLTS_PYTHON: 'the Python the install scripts make virtual environments with',
  FLTS_TOOLS_DIR: 'where the deploy tools (helm, kubeconform, ...) are installed',
  FLTS_TRITONCLIENT_VENV: 'the tritonclient virtual environment',
  FLTS_TRITONCLIENT_VERSION: 'the tritonclient version installed',
  FLTS_MLFLOW_CLIENT_VENV: 'the virtual environment of the MLflow client that loads flts models (mlflow-skinny, onnx, onnxruntime)',
  FLTS_NODE_CACHE: 'where .ci/run keeps its Node distributions',
  // Tests.
  FLTS_TEST_MLFLOW_URI: 'an MLflow server the integration tests use instead of starting one',
  FLTS_TEST_MODULE_TRACE: 'a file the module-trace hook of the tests writes the loaded modules to',
  FLTS_TEST_PORTS: 'the port range (first-last) tests take free ports from',
  FLTS_TEST_TRITONCLIENT_PYTHON: 'the Python with tritonclient the Triton tests run',
  FLTS_TEST_MLFLOW_CLIENT_PYTHON: 'the Python with mlflow-skinny, onnx and onnxruntime the MLflow model test loads flts models with',
  // Benches.
  FLTS_BENCH_JSON: 'benches print one JSON line per measurement',
  FLTS_COMPARE_SKIP: 'the comparisons compare-pytorch.mjs skips',
  FLTS_TORCH_PYTHON: 'the Python with PyTorch compare-pytorch.mjs runs',
  FLTS_DATASETS: 'the directory of datasets the quality benches read',
  FLTS_FUZZ_CACHE: 'fuzz-openapi.sh\'s download cache',
  FLTS_FUZZ_CHECKS: 'fuzz-openapi.sh\'s checks',
  FLTS_FUZZ_DATASETS: 'fuzz-openapi.sh\'s datasets',
  FLTS_FUZZ_HOME: 'fuzz-openapi.sh\'s flts home',
  FLTS_FUZZ_ROUNDS: 'fuzz-openapi.sh\'s rounds',
  FLTS_HUNT_BIN: 'the CLI secret-hunt.mjs runs (another build\'s bin/run.js)',
  FLTS_HUNT_S3: 'an S3 server (host:port) for secret-hunt.mjs\'s success paths on S3',
  FLTS_HUNT_S3_USER: 'the access key of FLTS_HUNT_S3',
  FLTS_HUNT_S3_PASSWORD: 'the secret key of FLTS_HUNT_S3',
  FLTS_HUNT_MLFLOW: 'an MLflow server whose mirrored params and tags secret-hunt.mjs reads back',
  FLTS_HUNT_MLFLOW_STATE: 'that MLflow server\'s state directory, which secret-hunt.mjs greps',
  FLTS_HUNT_KAFKA: 'a PLAINTEXT Kafka broker (host:port) for secret-hunt.mjs',
  // Interpolated by docker compose (compose/docker-compose.yml), set in the shell that runs it.
  FLTS_IMAGE: 'the image the compose services run',
  FLTS_BIND_ADDRESS: 'the host address the compose ports bind',
  FLTS_DATASET_DIR: 'the host directory of raw datasets the compose stack mounts',
  FLTS_LB_HOST_PORT: 'the host port of the compose load balancer (HTTP)',
  FLTS_LB_GRPC_HOST_PORT: 'the host port of the compose load balancer (gRPC)',
  FLTS_LB_TIMEOUT_MS: 'the compose load balancer\'s client and server timeout, worked out from FLTS_SERVE_REQUEST_TIMEOUT_MS as it starts',
  FLTS_SERVE_REPLICAS: 'how many serve containers compose runs',
  FLTS_BATCH_REPLICAS: 'how many batch containers compose runs',
  FLTS_SERVE_STOP_GRACE_PERIOD: 'compose\'s stop_grace_period of the serve containers',
};

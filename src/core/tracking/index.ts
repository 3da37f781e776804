export { createMlflowClient, type MlflowClient } from './mlflow-client.js';
export { trackingCallBudgetMs } from './mlflow-http.js';
export { guardTracking, type GuardedTracking } from './guard-tracking.js';
export { listMlflowRunsByConfigHash, type MlflowRunSummary } from './list-mlflow-runs.js';
export { trackingClientFor, type TrackingDeps } from './tracking-deps.js';

export { startDaemon, defaultRoleRegistry, DAEMON_SHUTDOWN_GRACE_MS, type Daemon, type DaemonDeps } from './start-daemon.js';
export { createRoleRegistry, type RoleContext, type RoleFactory, type RoleHandle, type RoleRegistry } from './role-registry.js';
export { createDaemonMetrics, type DaemonMetrics, type CurrentWork, type StepResult } from './daemon-metrics.js';
export { reconcileTraining, type TrainTarget, type TrainingOutcome, type TrainerContext } from './trainer-reconciler.js';
export { reconcilePromotion, type PromotionOutcome } from './promoter-reconciler.js';
export { startServingCompanion, servingReplicaId, type ServingCompanion, type ServingCompanionDeps } from './serving-companion.js';
export { acquireLease, readLease, isLeaseFresh, leaseKey, type LeaseRecord, type HeldLease } from '../registry/work-lease.js';
export { seenUnchangedMs } from '../storage/seen-unchanged.js';
export { createSerialQueue, type SerialQueue } from './serial-queue.js';

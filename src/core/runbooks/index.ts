export { listPromotionCandidates, type ListCandidatesInput, type PromotionCandidate, type PromotionCandidates } from './promotion-candidates.js';
export { checkGate, gateProblem, requiredArtifactKeys, runProblems, type GateCheck, type PromotionProblem, type PromotionProblemKind } from '../workflows/promotion-checks.js';
export { promoteManually, type ManualPromotionDeps, type ManualPromotionInput, type ManualPromotionResult } from './promote-manually.js';
export { diffRuns, type MetricDiff, type RunDiff, type ValueDiff } from './run-diff.js';

import { BATCH_INFERENCE_GROUP, servingGroupId, trainerGroupId } from '../bus/topics.js';
import { clip } from '../clip-text.js';
import type { BusSettings } from '../config/specs/distributed.js';
import { FltsError } from '../errors.js';
import { MODEL_TYPES } from '../model-types.js';

export interface RoleGroup {
  role: string;
  group: string;
  /** The topics the role consumes, when fixed; serving replicas use whatever they committed to. */
  topics?: string[];
}

export const ROLE_SYNTAX = 'trainer:<MODEL_TYPE> (e.g. trainer:LSTM), promoter, batch, or serving:<replica id>';

/** flts' own consumer groups by role, named as the daemon names them from the same settings. */
export function resolveRoleGroup(role: string, bus: Pick<BusSettings, 'groups' | 'topics'>): RoleGroup {
  const [name, arg] = role.trim().split(/:(.*)/s, 2);
  switch (name.toLowerCase()) {
    case 'trainer':
      if (arg) return { role, group: trainerGroupId(trainerModelType(role, arg), bus.groups.trainerPrefix), topics: [bus.topics.trainingData] };
      break;
    case 'promoter':
    case 'eval':
      if (!arg) return { role, group: bus.groups.promoter, topics: [bus.topics.modelTraining] };
      break;
    case 'batch':
      if (!arg) return { role, group: BATCH_INFERENCE_GROUP, topics: [bus.topics.inferenceData] };
      break;
    case 'serving':
    case 'serve':
      if (arg) return { role, group: servingGroupId(arg, bus.groups.servingPrefix) };
      break;
  }
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--role ${JSON.stringify(clip(role))} is not a flts role: expected ${ROLE_SYNTAX}.`, { details: { value: clip(role) } });
}

/**
 * The model type of `trainer:<type>`, as the daemon's trainer spells it (case aside): any other name would address a
 * group no trainer consumes with, and --execute would create it with committed offsets.
 */
function trainerModelType(role: string, arg: string): string {
  const type = MODEL_TYPES.find((known) => known === arg.trim().toUpperCase());
  if (type) return type;
  throw new FltsError('FLTS_USAGE_INVALID_FLAG', `--role ${JSON.stringify(clip(role))} names no model type: expected trainer:<MODEL_TYPE> with one of ${MODEL_TYPES.join(', ')}.`, { details: { value: clip(role), valid: [...MODEL_TYPES] } });
}

/** The fields every reference inference result record (7.3) starts with, online or batch. */
export interface InferenceResultFields {
  timestamp: string;
  identifier: string;
  run_id: string;
  model_type: string;
  config_hash: string;
  status: 'SUCCESS';
  prediction_hash: string;
}

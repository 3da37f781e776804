const modelFields = {
  model_name: { type: 'string', description: 'The model name the Open Inference Protocol serves under (/v2/models/{name}, ModelInfer model_name): serve.modelName.' },
  run_id: { type: ['string', 'null'] },
  model_type: { type: ['string', 'null'] },
  config_hash: { type: ['string', 'null'] },
  loaded_at: { type: ['string', 'null'] },
  /** onnx (ONNX Runtime) or wasm (flts's recurrent loop); null for models without a network. */
  engine: { type: ['string', 'null'] },
  engine_note: { type: ['string', 'null'] },
  degraded: { type: 'boolean' },
  degraded_reason: { type: ['string', 'null'] },
  degraded_code: { type: ['string', 'null'] },
  pinned_run_id: { type: ['string', 'null'] },
} as const;

export const healthzSchema = {
  summary: 'Liveness, with the served model and degraded state',
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        service: { type: 'string' },
        model_ready: { type: 'boolean' },
        queue_length: { type: 'integer' },
        startup_ready_ms: { type: ['integer', 'null'] },
        ...modelFields,
        live: {
          type: 'object',
          description: 'Live accuracy: per run its matched points and rolling RMSE, MAE and interval coverage; the probation of the run in service (null when it has none, as after a rollback) and its decision; previous_probation: the last one whose promotion is over, with its decision.',
          additionalProperties: true,
        },
        promotions: {
          type: ['object', 'null'],
          description: "With a bus: whether the replica follows promotions on its topic (its consumer group joined). Not following, it serves the promoted model from the store, kept current by its pointer poll only, and stays ready; code is the last failed attempt's, or its consumer's last crash's (the serve_promotions_unavailable and bus_consumer_crashed_recovering log lines say why), since when it began, or stopped, following. null without a bus, and on a daemon's serving role, which starts once its group joined (flts_bus_consumer_crashing says when its consumer crashes).",
          properties: {
            topic: { type: 'string' },
            following: { type: 'boolean' },
            code: { type: ['string', 'null'] },
            since: { type: 'string' },
          },
        },
      },
    },
  },
} as const;

const readinessBody = { type: 'object', properties: { status: { type: 'string', enum: ['ready', 'not_ready'] }, reason: { type: 'string' }, code: { type: 'string' }, ...modelFields } } as const;

export const readyzSchema = {
  summary: 'Readiness: 200 once a model is loaded and warm, 503 before and from the moment a stop begins (code FLTS_SERVE_STOPPING)',
  response: { 200: readinessBody, 503: readinessBody },
} as const;

const livenessBody = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['live', 'not_live'] },
    code: { type: 'string' },
    reason: { type: 'string' },
    stalled_ms: { type: 'integer' },
    bound_ms: { type: 'integer' },
  },
} as const;

export const livezSchema = {
  summary: 'Liveness that means the process can still forecast: 503 FLTS_SERVE_INFERENCE_STALLED once a forward pass has run past serve.requestTimeoutMs; never for a model, the store, a promotion or the bus not there yet (that is readiness)',
  response: { 200: livenessBody, 503: livenessBody },
} as const;

export const readySchema = {
  summary: "Readiness in the reference API's shape",
  response: {
    200: { type: 'object', properties: { status: { type: 'string' } } },
    503: { type: 'object', properties: { status: { type: 'string' } } },
  },
} as const;

export const predictPingSchema = {
  summary: "The reference API's model probe",
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        model_loaded: { type: 'boolean' },
        has_df: { type: 'boolean' },
        busy: { type: 'boolean' },
        active_jobs: { type: 'integer' },
        input_seq_len: { type: ['integer', 'null'] },
        output_seq_len: { type: ['integer', 'null'] },
      },
    },
  },
} as const;

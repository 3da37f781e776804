/**
 * What has been learnt of one tracking server, and told of it, by the clients that share this state: whether it is
 * in an outage (told once when it starts, mlflow_unavailable, and once at the first answer after it,
 * mlflow_available_again), whether its lack of logged models was told, and where the backfill of logged models
 * stopped asking. A client has a state of its own unless it is given one of `MlflowServers`, so that two clients
 * of two servers (or of one server, logging to two loggers) never tell one's outage as the other's; the clients of
 * one sync, or of one daemon, share theirs through one `MlflowServers`.
 */
export interface MlflowServerState {
  /** Since when (on the clock of the client that saw it begin) calls went unanswered, and how many did. */
  outage?: { since: number; failures: number };
  /** mlflow_logged_models_unsupported said: once, not at every client that finds it so. */
  loggedModelsUnsupportedTold: boolean;
  /**
   * The backfill of logged models stopped asking: the server had no logged-model endpoints (until a call of theirs
   * answers, as a mirror's does after an upgrade to MLflow 3) or refused one to flts (for as long as this state lasts).
   */
  backfill?: 'unsupported' | 'refused';
  /** The server refuses `IS NULL` in a filter of runs (MLflow 2): the backfill asks for what it can filter, not again for the refusal. */
  tagIsNullRefused?: boolean;
  /** MLflow run ids of mirrors whose logged model failed: not tried again while this state lasts. */
  readonly failedMirrors: Set<string>;
}

export function createMlflowServerState(): MlflowServerState {
  return { loggedModelsUnsupportedTold: false, failedMirrors: new Set() };
}

/** The states of the tracking servers a group of clients talk to, one per tracking URI (as shown, credentials masked). */
export interface MlflowServers {
  of(uri: string): MlflowServerState;
}

export function createMlflowServers(): MlflowServers {
  const states = new Map<string, MlflowServerState>();
  return {
    of(uri) {
      const key = uri.replace(/\/+$/, '');
      let state = states.get(key);
      if (!state) states.set(key, (state = createMlflowServerState()));
      return state;
    },
  };
}

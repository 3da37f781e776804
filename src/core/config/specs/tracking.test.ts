import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../settings.js';

describe('core > config > specs > tracking', () => {
  it('refuses an MLflow alias or registered-model name MLflow would refuse at promotion time, naming the variable', () => {
    // Before, each was taken and every promotion fell back to tagging the run: the alias meant was never set.
    for (const alias of ['latest', 'Latest', 'v2', 'V10', 'my alias', 'champion ', 'prod/eu', 'x'.repeat(256)]) {
      expect(() => resolveSettings({ env: { FLTS_MLFLOW_ALIAS: alias } }), alias).toThrow(/FLTS_MLFLOW_ALIAS \(setting tracking\.alias\).*reserves/);
    }
    for (const alias of ['champion', 'challenger-2', 'prod_eu', 'v2a', 'latest2']) expect(resolveSettings({ env: { FLTS_MLFLOW_ALIAS: alias } }).settings.tracking.alias).toBe(alias);
    // Unset by an empty value, as `FLTS_MLFLOW_ALIAS=` in a shell or an env file means.
    expect(resolveSettings({ env: { FLTS_MLFLOW_ALIAS: '' } }).settings.tracking.alias).toBe('champion');
    for (const name of ['models/flts', 'flts:prod', '.', '..flts', '   ']) {
      expect(() => resolveSettings({ env: { FLTS_MLFLOW_REGISTERED_MODEL: name } }), name).toThrow(/FLTS_MLFLOW_REGISTERED_MODEL .*MLflow registered-model name/);
    }
    for (const name of ['', 'flts-global', 'Forecast model.v2', 'cell A']) expect(resolveSettings({ env: { FLTS_MLFLOW_REGISTERED_MODEL: name } }).settings.tracking.registeredModel).toBe(name);
  });

  it('reads the CA file of an https tracking server from MLflow\'s own variable', () => {
    expect(resolveSettings({ env: { MLFLOW_TRACKING_SERVER_CERT_PATH: ' /etc/mlflow/ca.pem ' } }).settings.tracking.caFile).toBe('/etc/mlflow/ca.pem');
    expect(resolveSettings({ env: { FLTS_MLFLOW_CA_FILE: '/etc/flts/mlflow-ca.pem' } }).settings.tracking.caFile).toBe('/etc/flts/mlflow-ca.pem');
    expect(resolveSettings().settings.tracking.caFile).toBe('');
  });

  it('reads MLflow\'s client certificate and insecure-TLS variables, and refuses insecure TLS beside a CA file as MLflow does', () => {
    const tracking = resolveSettings({ env: { MLFLOW_TRACKING_CLIENT_CERT_PATH: ' /etc/mlflow/client.pem ', MLFLOW_TRACKING_INSECURE_TLS: 'true' } }).settings.tracking;
    expect(tracking).toMatchObject({ clientCertFile: '/etc/mlflow/client.pem', insecureTls: true });
    expect(resolveSettings().settings.tracking).toMatchObject({ clientCertFile: '', insecureTls: false });
    expect(() => resolveSettings({ env: { MLFLOW_TRACKING_INSECURE_TLS: 'true', MLFLOW_TRACKING_SERVER_CERT_PATH: '/etc/mlflow/ca.pem' } })).toThrow(
      expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'tracking.insecureTls', conflictsWith: 'tracking.caFile' } }),
    );
    expect(() => resolveSettings({ file: { tracking: { insecureTls: true, caFile: '/etc/flts/ca.pem' } } })).toThrow(/MLflow's own client refuses the two together/);
    expect(resolveSettings({ env: { MLFLOW_TRACKING_INSECURE_TLS: 'false', MLFLOW_TRACKING_SERVER_CERT_PATH: '/etc/mlflow/ca.pem' } }).settings.tracking.caFile).toBe('/etc/mlflow/ca.pem');
  });
});

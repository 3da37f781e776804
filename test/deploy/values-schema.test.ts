import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { byKind, CHART_DIR, helmTemplateAsync, helmTemplateErrorAsync, KUBE_VERSIONS, type Manifest, podSpec, runAsync, tools } from './deploy-tools.js';
import { skipNote, useServers } from '../helpers/servers.js';

const deployTools = await useServers('deploy-tools');

const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
/** What the default values leave for the user to choose: a dataset the preprocess Job can read (no volume here). */
const EXAMPLE_DATA = { 'preprocess.env.DATASET_NAME': 'example' };
/** ... and the S3 credentials. */
const STATIC_KEY = { ...EXAMPLE_DATA, 'store.accessKey': 'flts', 'store.secretKey': 'flts-secret' };

/** The ```yaml blocks of the chart's README that are chart values (every top-level key is one of values.yaml's). */
function readmeValueExamples(): string[] {
  const text = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
  return [...text.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)]
    .map(([, indent, body]) => body.split('\n').map((line) => line.slice(indent.length)).join('\n'))
    .filter((body) => Object.keys(parse(body) as object).every((key) => key in defaults));
}

describe.skipIf(Boolean(deployTools.skip))(`deploy > values.schema.json${skipNote(deployTools)}`, () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'flts-values-schema-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it.each([
    ['serve.replicasCount', '3', "at '/serve': additional properties 'replicasCount' not allowed"],
    ['servce.port', '8000', "at '': additional properties 'servce' not allowed"],
    ['daemon.trainer.modelType', 'LSTM', "at '/daemon/trainer': additional properties 'modelType' not allowed"],
    ['metrics.serviceMonitor.enable', 'true', "at '/metrics/serviceMonitor': additional properties 'enable' not allowed"],
    ['networkPolicy.egress.s3.port', '9000', "at '/networkPolicy/egress/s3': additional properties 'port' not allowed"],
  ])('refuses the mistyped key %s, naming it (helm template and helm lint)', async (key, value, message) => {
    const error = await helmTemplateErrorAsync({ values: ['values-dev.yaml'], set: { [key]: value } });
    expect(error).toContain(message);
    const lint = await runAsync(tools.helm, ['lint', CHART_DIR, '--strict', '-f', join(CHART_DIR, 'values-dev.yaml'), '--set', `${key}=${value}`]);
    expect(lint.status).not.toBe(0);
    expect(lint.stdout + lint.stderr).toContain(message);
  });

  it.each([
    ['serve.port', 'http', "at '/serve/port'"],
    ['daemon.metricsPort', '70000', "at '/daemon/metricsPort'"],
    ['serve.service.type', 'Nodeport', "at '/serve/service/type'"],
    ['image.pullPolicy', 'always', "at '/image/pullPolicy'"],
    ['serve.replicas', '-1', "at '/serve/replicas'"],
    ['serve.pdb.maxUnavailable', 'half', "at '/serve/pdb/maxUnavailable'"],
  ])('refuses %s=%s, a value the templates cannot use', async (key, value, message) => {
    expect(await helmTemplateErrorAsync({ values: ['values-dev.yaml'], set: { [key]: value } })).toContain(message);
  });

  it('leaves the free-form maps open: settings, env, annotations, labels, resources, scheduling', async () => {
    const file = join(workDir, 'free-form.yaml');
    writeFileSync(file, [
      'settings: {FLTS_LOG_LEVEL: debug, EPOCHS: "5"}',
      'extraEnv: {TZ: Europe/Madrid}',
      'serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/flts"}}',
      'podSecurityContext: {fsGroupChangePolicy: OnRootMismatch}',
      'serve:',
      '  env: {FLTS_SERVE_BATCH_MAX_SIZE: "32"}',
      '  resources: {limits: {cpu: "2", memory: 2Gi, ephemeral-storage: 1Gi}}',
      '  service: {annotations: {service.beta.kubernetes.io/aws-load-balancer-internal: "true"}}',
      '  nodeSelector: {kubernetes.io/arch: amd64}',
      '  tolerations: [{key: dedicated, operator: Equal, value: flts, effect: NoSchedule}]',
      '  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}',
      '  topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}]',
      '  pdb: {enabled: true, maxUnavailable: 50%}',
      'daemon: {trainer: {env: {EPOCHS: "1"}}, nodeSelector: {pool: batch}}',
      'metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}}}',
      '',
    ].join('\n'));
    const objects = await helmTemplateAsync({ values: ['values-dev.yaml', file] });
    const serve = byKind(objects, 'Deployment').find((d) => d.metadata.name.endsWith('-serve')) as Manifest;
    expect(podSpec(serve).nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
  });

  it('accepts every values file of the chart and every values example of its README', async () => {
    for (const file of ['values.yaml', 'values-dev.yaml', 'values-prod.yaml', 'ci/platform-values.yaml']) {
      const set = file === 'values.yaml' ? STATIC_KEY : {};
      expect(await helmTemplateErrorAsync({ values: [file], set }), file).toBe('');
    }
    // The README's examples build on each other ("With store.credentials: aws and IRSA, the same plus ..."): each is
    // rendered over the default values with those before it.
    const examples = readmeValueExamples();
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const files = examples.map((body, index) => {
      const file = join(workDir, `readme-example-${index}.yaml`);
      writeFileSync(file, body);
      return file;
    });
    for (let index = 0; index < files.length; index += 1) {
      const error = await helmTemplateErrorAsync({ values: ['values.yaml', ...files.slice(0, index + 1)], set: EXAMPLE_DATA, kubeVersion: KUBE_VERSIONS[0] });
      expect(error, examples[index]).toBe('');
    }
  });
});

// Issue 22 §3: the Helm chart deploy/helm/tokengate. `helm lint` passes, and values.schema.json refuses bad values;
// `helm template` renders, with the default values and with every toggle on, objects that pass the Kubernetes
// schemas offline (as the kustomize renders do in manifests.test.ts); the default render is the pod of deploy/base
// (`kubectl kustomize`), container for container; and the values for policies, tracing, replicas and monitoring
// change what they say. In the e2e tier: it needs Helm (scripts/install-helm.sh) and kubectl.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEPLOY, ensureBuilt, tokengateValidate } from '../../deploy/helpers.js';
import { CHART, helm, helmTemplate, podShape } from './helm_render.js';
import { kustomize, only, parseObjects, podOf, type K8sObject } from './render.js';
import { checkFieldsWithTypes, validateWithSchemas } from './schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-helm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every toggle on, and every value that changes the pod. */
const ALL_ON = {
  autoscaling: { enabled: false },
  replicas: 3,
  policies: [
    {
      name: 'default',
      validateJwt: {
        openidConfig: [{ url: 'https://login.example.com/.well-known/openid-configuration' }],
        audiences: ['api://other'],
      },
    },
  ],
  tracing: {
    enabled: true,
    samplerRatio: 0.05,
    otlpEndpoint: 'http://otel-collector.observability:4318',
    env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test' },
  },
  image: { tokengate: { repository: 'registry.example.com/team/tokengate', tag: '0.2.0', pullPolicy: 'Always' } },
  monitoring: {
    podMonitor: { enabled: true, labels: { release: 'prometheus' } },
    prometheusRule: { enabled: true },
    grafanaDashboard: { enabled: true },
    scrapeAnnotations: true,
  },
};

function valuesFile(name: string, values: object): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}

function validates(configText: string, name: string) {
  ensureBuilt();
  const file = join(tmp, `${name}-tokengate.yaml`);
  writeFileSync(file, configText);
  return tokengateValidate(file);
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('helm lint', () => {
  it('passes with the default values and with every toggle on (--strict: warnings fail too)', () => {
    const plain = helm(['lint', '--strict', CHART]);
    expect(plain.status, plain.output).toBe(0);
    const allOn = helm(['lint', '--strict', CHART, '-f', valuesFile('lint-all-on', ALL_ON)]);
    expect(allOn.status, allOn.output).toBe(0);
  });

  it('fails on a copy of the chart with a broken template (the control)', () => {
    const copy = join(tmp, 'broken-chart');
    cpSync(CHART, copy, { recursive: true });
    writeFileSync(join(copy, 'templates/broken.yaml'), 'kind: {{ .Values.nameOverride\n');
    const r = helm(['lint', '--strict', copy]);
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toMatch(/broken\.yaml/);
  });

  it('values.schema.json refuses a misspelt value, a sampler ratio above 1 and an image tag that YAML made a number', () => {
    for (const [set, message] of [
      ['monitoring.podMonitor.enabeld=true', /additional properties 'enabeld' not allowed/],
      ['tracing.samplerRatio=2', /samplerRatio.*maximum/],
      ['image.tokengate.tag=1', /tag.*got number, want string/],
    ] as const) {
      const r = helm(['template', 'x', CHART, '--set', set]);
      expect(r.status, set).not.toBe(0);
      expect(r.output, set).toMatch(message);
    }
  });

  // helm lint does not run `fail` (it logs it), so the chart's own refusals are checked with helm template.
  it('helm template refuses a tokengate config that is not YAML', () => {
    const r = helm(['template', 'x', CHART, '--set-string', 'config=policies: [oops']);
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toMatch(/tokengate config .* is not YAML/);
  });
});

for (const [name, args] of [
  ['default values', []],
  ['every toggle on', ['-f', 'ALL_ON']],
] as const) {
  describe(`helm template: ${name}`, () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = helmTemplate(args.map((a) => (a === 'ALL_ON' ? valuesFile('all-on', ALL_ON) : a)));
    });

    it('every object passes the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
      expect(objects.length).toBeGreaterThanOrEqual(5);
      expect(await validateWithSchemas(objects)).toEqual([]);
    });

    it('no object has a field its schema does not define (TypeScript excess-property check against the models)', () => {
      expect(checkFieldsWithTypes(objects)).toEqual([]);
    }, 60_000);

    it('the tokengate.yaml it carries passes `tokengate validate`', () => {
      const r = validates(podOf(objects).tokengateConfigText, name.replace(/\W+/g, '_'));
      expect(r.status, r.output).toBe(0);
    }, 60_000);

    it('the Service, PodDisruptionBudget, HorizontalPodAutoscaler and spread constraint select this pod', () => {
      const { deployment, podSpec } = podOf(objects);
      const labels = deployment.spec.template.metadata.labels;
      expect(labelsMatch(deployment.spec.selector.matchLabels, labels)).toBe(true);
      expect(labelsMatch(only(objects, 'Service').spec.selector, labels)).toBe(true);
      expect(labelsMatch(only(objects, 'PodDisruptionBudget').spec.selector.matchLabels, labels)).toBe(true);
      for (const t of podSpec.topologySpreadConstraints) expect(labelsMatch(t.labelSelector.matchLabels, labels)).toBe(true);
      for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      }
    });
  });
}

describe('the default render is the pod of deploy/base', () => {
  let chart: K8sObject[];
  let base: K8sObject[];
  beforeAll(() => {
    chart = helmTemplate();
    base = parseObjects(kustomize(join(DEPLOY, 'base')));
  });

  it('the same containers (names, images, command, args, env, ports, probes, mounts, resources, security), in order', () => {
    const c = podShape(chart);
    const b = podShape(base);
    expect(c.initContainers.map((x: any) => x.name)).toEqual(['tokengate', 'envoy']);
    expect(c.initContainers).toEqual(b.initContainers);
    expect(c.containers).toEqual(b.containers);
  });

  it('the same volumes, with the same tokengate.yaml and Envoy bootstrap in the ConfigMaps they come from', () => {
    const c = podShape(chart);
    expect(c.volumes).toEqual(podShape(base).volumes);
    expect(podOf(chart).envoyConfigText).toBe(readFileSync(join(DEPLOY, 'base/envoy.yaml'), 'utf8'));
    expect(podOf(chart).tokengateConfigText).toBe(readFileSync(join(DEPLOY, 'base/tokengate.yaml'), 'utf8'));
  });

  it('the same pod settings (security context, grace period, spread), Service ports, PDB and HPA', () => {
    const c = podShape(chart);
    const b = podShape(base);
    expect(c.podLevel).toEqual(b.podLevel);
    expect(c.topologySpread).toEqual(b.topologySpread);
    const spec = (objects: K8sObject[], kind: string) => {
      const { selector: _s, scaleTargetRef: _t, ...rest } = only(objects, kind).spec;
      return rest;
    };
    for (const kind of ['Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) expect(spec(chart, kind), kind).toEqual(spec(base, kind));
    const strategy = (objects: K8sObject[]) => {
      const { selector: _s, template: _t, ...rest } = only(objects, 'Deployment').spec;
      return rest;
    };
    expect(strategy(chart)).toEqual(strategy(base)); // no replicas: the HPA owns them
  });

  it('a change of the Envoy bootstrap rolls the pods (checksum annotation); tokengate.yaml reloads in place', () => {
    const { deployment, envoyConfigMap, tokengateConfigName } = podOf(chart);
    expect(deployment.spec.template.metadata.annotations['checksum/envoy-config']).toMatch(/^[0-9a-f]{64}$/);
    expect(envoyConfigMap.metadata.name).toBe('protected-api-envoy-config');
    expect(tokengateConfigName).toBe('protected-api-tokengate-config');
  });
});

describe('values', () => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = helmTemplate(['-f', valuesFile('values-all-on', ALL_ON)]);
  });

  it('policies replace the config\'s policies; tracing turns on the tracing: section and the OTEL_* environment', () => {
    const pod = podOf(objects);
    const config = parse(pod.tokengateConfigText);
    expect(config.policies).toEqual(ALL_ON.policies);
    expect(config.tracing).toEqual({ enabled: true, samplerRatio: 0.05, recordSub: false });
    expect(config.server).toEqual(parse(readFileSync(join(DEPLOY, 'base/tokengate.yaml'), 'utf8')).server);
    expect(pod.tokengate.env).toEqual(
      expect.arrayContaining([
        { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability:4318' },
        { name: 'OTEL_SERVICE_NAME', value: 'tokengate' },
        { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'deployment.environment=test' },
      ]),
    );
    expect(pod.tokengate.image).toBe('registry.example.com/team/tokengate:0.2.0');
    expect(pod.tokengate.imagePullPolicy).toBe('Always');
  });

  it('without the autoscaler the Deployment has the replicas value', () => {
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(podOf(objects).deployment.spec.replicas).toBe(3);
  });

  it('monitoring: the PodMonitor scrapes ports the pod has, the PrometheusRule is the rules file, the dashboard is the JSON', () => {
    const pod = podOf(objects);
    const monitor = only(objects, 'PodMonitor');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    expect(labelsMatch(monitor.spec.selector.matchLabels, pod.deployment.spec.template.metadata.labels)).toBe(true);
    const owner = Object.fromEntries(
      [pod.tokengate, pod.envoy].flatMap((c) => c.ports.map((p: any) => [p.name, c.name])),
    );
    expect(monitor.spec.podMetricsEndpoints.map((e: any) => [owner[e.port], e.path])).toEqual([
      ['tokengate', '/metrics'],
      ['envoy', '/stats/prometheus'],
    ]);
    const rules = parse(readFileSync(join(DEPLOY, 'components/monitoring/tokengate.rules.yaml'), 'utf8'));
    expect(only(objects, 'PrometheusRule').spec).toEqual(rules);
    const dashboard = only(objects, 'ConfigMap', (o) => o.metadata.name.endsWith('grafana-dashboard'));
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    const json = readFileSync(join(DEPLOY, 'components/monitoring/grafana-dashboard.json'), 'utf8');
    expect(dashboard.data['tokengate.json']).toBe(json);
    expect(pod.deployment.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(pod.tokengate.ports[0].containerPort),
      'prometheus.io/path': '/metrics',
    });
  });

  it('with the defaults, no monitoring object and no OTEL_* variable', () => {
    const plain = helmTemplate();
    for (const kind of ['PodMonitor', 'PrometheusRule']) expect(plain.filter((o) => o.kind === kind)).toEqual([]);
    expect(plain.filter((o) => o.metadata.name.endsWith('grafana-dashboard'))).toEqual([]);
    expect(podOf(plain).tokengate.env.map((e: any) => e.name)).toEqual(['TOKENGATE_CONFIG', 'NODE_OPTIONS']);
  });
});

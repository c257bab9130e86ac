// deploy/ as a cluster admin meets it: `kubectl kustomize deploy` builds, a real API server accepts
// every object (server-side dry run, then for real), the CRDs come with it, and the two Deployments
// would start a correctly configured, locked-down operator and receiver. The optional Ingress and
// autoscaling components and the monitoring kustomization build and fit the base; the
// NetworkPolicies' selectors are patched by an overlay without editing the base.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureControlPlane } from '../../harness/root-hooks.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { adminClient, installCRDs, kubectl, readYamlObjects } from '../../harness/fixtures.ts';
import { startTestOperator } from '../../harness/operator.ts';
import { parseConfig } from '../../../src/config/config.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { findObject, installDeploy, kubectlRef, kustomizeBuild, operatorNamespaceExists, uninstallDeploy, OPERATOR_NAME, OPERATOR_NAMESPACE, RECEIVER_NAME, type Manifest } from './deploy-helpers.ts';

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  topologySpreadConstraints?: { topologyKey: string }[];
  affinity?: { podAntiAffinity?: unknown };
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const FIELD_MANAGER = 'planasonix-deploy-test';
const CRD_FILES = ['crds/planasonix.io_webhooktriggers.yaml', 'crds/planasonix.io_pipelines.yaml', 'crds/planasonix.io_pipelineruns.yaml'];

describe('deploy/ kustomization (real API server)', function () {
  this.timeout(180_000);
  let objects: Manifest[];
  let text: string;
  let existedBefore = true;

  before(async function () {
    this.timeout(15 * 60_000); // the first use may build the control plane
    await ensureControlPlane();
    await installCRDs(); // for the in-process operator below, whichever test runs first
    existedBefore = await operatorNamespaceExists();
    ({ objects, text } = await kustomizeBuild('deploy'));
  });
  // Only what this file installed goes: never an operator that was running in a real cluster.
  after(async () => {
    if (!existedBefore) await uninstallDeploy(objects);
  });

  it('builds every piece the operator needs, all in planasonix-system', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).to.include.members([
      'Namespace/planasonix-system',
      'CustomResourceDefinition/webhooktriggers.planasonix.io',
      'CustomResourceDefinition/pipelines.planasonix.io',
      'CustomResourceDefinition/pipelineruns.planasonix.io',
      `ServiceAccount/${OPERATOR_NAME}`,
      `ClusterRole/${OPERATOR_NAME}`,
      `ClusterRoleBinding/${OPERATOR_NAME}`,
      `Role/${OPERATOR_NAME}-leader-election`,
      `RoleBinding/${OPERATOR_NAME}-leader-election`,
      `Deployment/${OPERATOR_NAME}`,
      `ServiceAccount/${RECEIVER_NAME}`,
      `ClusterRole/${RECEIVER_NAME}`,
      `ClusterRoleBinding/${RECEIVER_NAME}`,
      `Deployment/${RECEIVER_NAME}`,
      'Service/planasonix-webhook',
      `Service/${OPERATOR_NAME}-metrics`,
      `PodDisruptionBudget/${OPERATOR_NAME}`,
      `PodDisruptionBudget/${RECEIVER_NAME}`,
      `NetworkPolicy/${OPERATOR_NAME}`,
      `NetworkPolicy/${RECEIVER_NAME}`,
    ]);
    // Nothing from deploy/examples: the samples are applied into a namespace of the user's choice.
    expect(objects.map((o) => o.kind)).not.to.include.members(['WebhookTrigger', 'Pipeline']);
    for (const o of objects) {
      const clusterScoped = ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind);
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).to.equal(clusterScoped ? undefined : OPERATOR_NAMESPACE);
    }
  });

  it('includes the CRDs exactly as crds/ holds them', () => {
    for (const file of CRD_FILES) {
      const [crd] = readYamlObjects(file) as unknown as Manifest[];
      const built = findObject(objects, 'CustomResourceDefinition', crd!.metadata.name);
      expect(built.spec, file).to.deep.equal(crd!.spec);
    }
  });

  it('is accepted by the API server in a server-side dry run, without warnings (Pod Security: restricted)', async () => {
    // A dry run creates nothing, so the namespaced objects need their namespace to exist already.
    const ns = stringify(findObject(objects, 'Namespace', OPERATOR_NAMESPACE));
    const created = await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], ns);
    expect(created.code, created.stderr).to.equal(0);
    const res = await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], text);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.trim().split('\n')).to.have.length(objects.length);
    // No warnings, in particular none from Pod Security admission: the namespace enforces the
    // restricted profile, and the API server warns when a Deployment's pods would be refused.
    expect(res.stderr).to.equal('');
    expect(findObject(objects, 'Namespace', OPERATOR_NAMESPACE).metadata.labels).to.include({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it('applies for real: every object exists and the CRDs are Established', async () => {
    await installDeploy(FIELD_MANAGER);
    for (const o of objects) {
      const args = ['get', kubectlRef(o), '-o', 'json', ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : [])];
      const res = await kubectl(args);
      expect(res.code, `${kubectlRef(o)}: ${res.stderr}`).to.equal(0);
    }
    for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
      const live = await adminClient().get<Manifest & { metadata: { managedFields?: { manager: string }[] }; status?: { conditions?: { type: string; status: string }[] } }>(
        RESOURCES.customResourceDefinitions,
        undefined,
        crd.metadata.name,
      );
      expect(live.status?.conditions?.find((c) => c.type === 'Established')?.status, crd.metadata.name).to.equal('True');
      // Installed by this apply of the kustomization, not only by the test harness's own CRD install.
      expect(live.metadata.managedFields?.map((f) => f.manager), crd.metadata.name).to.include(FIELD_MANAGER);
    }
  });

  const deploymentOf = (name: string) => findObject(objects, 'Deployment', name) as Manifest & { spec: DeploymentSpec };

  for (const [name, component, role] of [
    [OPERATOR_NAME, 'controllers', 'two leader-electing replicas of the controllers'],
    [RECEIVER_NAME, 'receiver', 'two replicas of the receiver'],
  ] as const) {
    it(`${name}: runs ${role}, locked down, as its own ServiceAccount, the one its RBAC binds`, () => {
      const { spec } = deploymentOf(name);
      expect(spec.replicas).to.equal(2);
      const pod = spec.template.spec;
      expect(pod.serviceAccountName).to.equal(name);
      expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.topologySpreadConstraints?.map((c) => c.topologyKey)).to.include('kubernetes.io/hostname');
      expect(pod.affinity?.podAntiAffinity).to.not.equal(undefined);
      expect(pod.containers).to.have.length(1);
      const c = pod.containers[0]!;
      expect(c.image).to.match(/^ghcr\.io\/planasonix\/webhook-operator:/);
      expect(c.args?.[0]).to.equal('run');
      expect(c.args).to.include(`--components=${component}`);
      expect(c.securityContext).to.deep.include({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources?.requests).to.have.keys('cpu', 'memory');
      expect(c.resources?.limits).to.have.keys('cpu', 'memory');
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]));
      expect(env).to.include({ POD_NAME: 'metadata.name' });
      if (component === 'controllers') expect(env).to.include({ POD_NAMESPACE: 'metadata.namespace' });

      const binding = findObject(objects, 'ClusterRoleBinding', name) as Manifest & { subjects: { kind: string; name: string; namespace: string }[] };
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name, namespace: OPERATOR_NAMESPACE }]);
    });

    it(`${name}: gives the container a configuration the operator accepts, with probes and Services on the ports where it serves them`, async () => {
      const c = deploymentOf(name).spec.template.spec.containers[0]!;
      const configMapName = c.envFrom?.[0]?.configMapRef?.name ?? '';
      const configMap = findObject(objects, 'ConfigMap', configMapName) as Manifest & { data: Record<string, string> };
      // What the process sees in the pod: the ConfigMap's variables, the downward API, and the
      // variable every pod gets (it makes --external-url mandatory for the controllers).
      const env: Record<string, string> = { ...configMap.data, POD_NAME: `${name}-7d9f-abcde`, KUBERNETES_SERVICE_HOST: '10.0.0.1' };
      if (c.env?.some((e) => e.name === 'POD_NAMESPACE')) env.POD_NAMESPACE = OPERATOR_NAMESPACE;
      for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      const config = parseConfig(c.args!.slice(1), env);
      expect(config.components).to.equal(component);
      if (component === 'controllers') {
        expect(config).to.include({ leaderElect: true, leaderElectionNamespace: OPERATOR_NAMESPACE });
        expect(config.externalUrl).to.match(/^https:\/\//);
        // The leader-election Role names the Lease the operator will use.
        const role = findObject(objects, 'Role', `${OPERATOR_NAME}-leader-election`) as Manifest & { rules: { resourceNames?: string[] }[] };
        expect(role.rules.flatMap((r) => r.resourceNames ?? [])).to.deep.equal([config.leaderElectionId]);
      }

      // Run the component with this configuration (on free local ports) and ask each port what the
      // manifests expect of it: the probes' paths and the Services' endpoints.
      const containerPorts = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      const served = component === 'receiver' ? [config.webhookPort, config.metricsPort, config.healthPort] : [config.metricsPort, config.healthPort];
      expect([...containerPorts.values()].toSorted()).to.deep.equal(served.toSorted());
      const operator = await startTestOperator({ ...config, webhookPort: 0, metricsPort: 0, healthPort: 0, webhookBindAddress: '127.0.0.1', leaderElect: false });
      try {
        expect(operator.receiverUrl !== '', 'serves webhooks').to.equal(component === 'receiver');
        const urls = new Map<number, string | undefined>([
          [config.metricsPort, operator.opsUrl],
          [config.healthPort, operator.healthUrl],
        ]);
        if (component === 'receiver') urls.set(config.webhookPort, operator.receiverUrl);
        const urlOf = (port: string | number) => urls.get(typeof port === 'number' ? port : (containerPorts.get(port) ?? -1));
        for (const [probe, spec] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe], ['startup', c.startupProbe]] as const) {
          expect(spec?.httpGet, `${probe} probe`).to.not.equal(undefined);
          const res = await fetch(`${urlOf(spec!.httpGet!.port)}${spec!.httpGet!.path}`);
          expect(res.status, `${probe} probe GET ${spec!.httpGet!.path} on port ${spec!.httpGet!.port}`).to.equal(200);
        }
        expect(c.readinessProbe?.httpGet?.path).to.equal('/readyz');

        const metricsService = findObject(objects, 'Service', `${OPERATOR_NAME}-metrics`) as Manifest & { spec: { ports: { targetPort: string }[] } };
        const scrape = await fetch(`${urlOf(metricsService.spec.ports[0]!.targetPort)}/metrics`);
        expect(scrape.status).to.equal(200);
        expect(await scrape.text()).to.include(component === 'receiver' ? 'planasonix_webhook_requests_total' : 'planasonix_');

        if (component === 'receiver') {
          // The receiver answers an unknown capability path with its own 404 problem document.
          const webhookService = findObject(objects, 'Service', 'planasonix-webhook') as Manifest & { spec: { ports: { targetPort: string }[] } };
          const hook = await fetch(`${urlOf(webhookService.spec.ports[0]!.targetPort)}/hooks/unknown`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
          expect(hook.status).to.equal(404);
          expect(hook.headers.get('content-type')).to.match(/json/);
        }
      } finally {
        await operator.stop();
      }
    });
  }

  type PolicyPort = { port: string | number; protocol: string };
  type Policy = Manifest & {
    spec: {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[]; ports: PolicyPort[] }[];
      egress: { to?: unknown[]; ports: PolicyPort[] }[];
    };
  };
  const selects = (labels: Record<string, string>, selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

  it('routes the webhook Service to the receiver only, the metrics Service to both, each PodDisruptionBudget and NetworkPolicy to its own pods', () => {
    const operatorPods = deploymentOf(OPERATOR_NAME).spec.template.metadata.labels;
    const receiverPods = deploymentOf(RECEIVER_NAME).spec.template.metadata.labels;
    for (const name of [OPERATOR_NAME, RECEIVER_NAME]) {
      const d = deploymentOf(name);
      expect(selects(d.spec.template.metadata.labels, d.spec.selector.matchLabels), name).to.equal(true);
    }
    expect(selects(operatorPods, deploymentOf(RECEIVER_NAME).spec.selector.matchLabels), 'the Deployments select apart').to.equal(false);
    expect(selects(receiverPods, deploymentOf(OPERATOR_NAME).spec.selector.matchLabels), 'the Deployments select apart').to.equal(false);

    const portsOf = (name: string) => new Map((deploymentOf(name).spec.template.spec.containers[0]!.ports ?? []).map((p) => [p.name, p.containerPort]));
    type Service = Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } };
    const webhook = findObject(objects, 'Service', 'planasonix-webhook') as Service;
    expect(selects(receiverPods, webhook.spec.selector)).to.equal(true);
    expect(selects(operatorPods, webhook.spec.selector), 'webhooks never reach the operator').to.equal(false);
    expect(webhook.spec.ports.map((p) => [p.port, portsOf(RECEIVER_NAME).get(p.targetPort)])).to.deep.equal([[8080, 8080]]);
    const metrics = findObject(objects, 'Service', `${OPERATOR_NAME}-metrics`) as Service;
    for (const [name, pods] of [[OPERATOR_NAME, operatorPods], [RECEIVER_NAME, receiverPods]] as const) {
      expect(selects(pods, metrics.spec.selector), name).to.equal(true);
      expect(metrics.spec.ports.map((p) => [p.port, portsOf(name).get(p.targetPort)]), name).to.deep.equal([[9090, 9090]]);
    }

    for (const [name, pods, other] of [[OPERATOR_NAME, operatorPods, receiverPods], [RECEIVER_NAME, receiverPods, operatorPods]] as const) {
      const pdb = findObject(objects, 'PodDisruptionBudget', name) as Manifest & { spec: { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } };
      expect(selects(pods, pdb.spec.selector.matchLabels), name).to.equal(true);
      expect(selects(other, pdb.spec.selector.matchLabels), name).to.equal(false);
      expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable, name).to.equal(1);
      const policy = findObject(objects, 'NetworkPolicy', name) as Policy;
      expect(selects(pods, policy.spec.podSelector.matchLabels), name).to.equal(true);
      expect(selects(other, policy.spec.podSelector.matchLabels), name).to.equal(false);
      expect(policy.spec.policyTypes).to.have.members(['Ingress', 'Egress']);
      const metricsRule = policy.spec.ingress.find((r) => r.ports.some((p) => p.port === 'metrics'));
      expect(metricsRule?.from?.[0]?.namespaceSelector?.matchLabels).to.deep.equal({ 'kubernetes.io/metadata.name': 'monitoring' });
      const egressPorts = policy.spec.egress.flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`));
      expect(egressPorts).to.include.members(['TCP/443', 'TCP/6443', 'UDP/53', 'TCP/53']);
    }
    // Webhooks reach the receiver only from the ingress controller's namespace; the operator takes none.
    const receiverPolicy = findObject(objects, 'NetworkPolicy', RECEIVER_NAME) as Policy;
    const webhooks = receiverPolicy.spec.ingress.find((r) => r.ports.some((p) => p.port === 'webhooks'));
    expect(webhooks?.from?.map((f) => f.namespaceSelector?.matchLabels)).to.deep.equal([{ 'kubernetes.io/metadata.name': 'ingress-nginx' }]);
    const operatorPolicy = findObject(objects, 'NetworkPolicy', OPERATOR_NAME) as Policy;
    expect(operatorPolicy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).to.deep.equal(['metrics']);
  });

  /** `kubectl kustomize DIR`, which must succeed, parsed. */
  const buildOverlay = async (dir: string): Promise<Manifest[]> => {
    const res = await kubectl(['kustomize', dir]);
    expect(res.code, res.stderr).to.equal(0);
    return parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
  };
  /** The namespaces each NetworkPolicy rule admits from. */
  const admittedNamespaces = (built: Manifest[]) => {
    const fromOf = (name: string, port: string) =>
      (findObject(built, 'NetworkPolicy', name) as Policy).spec.ingress.find((r) => r.ports.some((p) => p.port === port))?.from?.map((f) => f.namespaceSelector?.matchLabels);
    return { receiverWebhooks: fromOf(RECEIVER_NAME, 'webhooks'), receiverMetrics: fromOf(RECEIVER_NAME, 'metrics'), operatorMetrics: fromOf(OPERATOR_NAME, 'metrics') };
  };
  const TRAEFIK_AND_OBSERVABILITY = {
    receiverWebhooks: [{ 'kubernetes.io/metadata.name': 'traefik' }],
    receiverMetrics: [{ 'kubernetes.io/metadata.name': 'observability' }],
    operatorMetrics: [{ 'kubernetes.io/metadata.name': 'observability' }],
  };

  describe('an overlay that patches the NetworkPolicies (as networkpolicy.yaml tells a user to)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'planasonix-overlay-'));
      const rel = (p: string) => path.relative(dir, path.join(repoRoot, p));
      const replace = (p: string, value: unknown) => stringify([{ op: 'replace', path: p, value }]);
      writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        stringify({
          resources: [rel('deploy')],
          patches: [
            { target: { kind: 'NetworkPolicy', name: RECEIVER_NAME }, patch: replace('/spec/ingress/0/from/0/namespaceSelector/matchLabels', { 'kubernetes.io/metadata.name': 'traefik' }) },
            { target: { kind: 'NetworkPolicy', name: RECEIVER_NAME }, patch: replace('/spec/ingress/1/from/0/namespaceSelector/matchLabels', { 'kubernetes.io/metadata.name': 'observability' }) },
            { target: { kind: 'NetworkPolicy', name: OPERATOR_NAME }, patch: replace('/spec/ingress/0/from/0/namespaceSelector/matchLabels', { 'kubernetes.io/metadata.name': 'observability' }) },
          ],
        }),
      );
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('moves the webhooks rule to the ingress controller\'s namespace and the metrics rules to the monitoring one, and the API server accepts them', async () => {
      const built = await buildOverlay(dir);
      expect(admittedNamespaces(built)).to.deep.equal(TRAEFIK_AND_OBSERVABILITY);
      const policies = built.filter((o) => o.kind === 'NetworkPolicy');
      const dryRun = await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], policies.map((o) => stringify(o)).join('---\n'));
      expect(dryRun.code, dryRun.stderr).to.equal(0);
    });
  });

  describe('the network-namespaces component (deploy/network-namespaces), with the values in a local-config ConfigMap', () => {
    let dir: string;
    let withoutValues: string;
    /** An overlay of deploy/ with the component, and the values file when one is given. */
    const overlay = (values?: string) => {
      const at = mkdtempSync(path.join(tmpdir(), 'planasonix-overlay-'));
      const rel = (p: string) => path.relative(at, path.join(repoRoot, p));
      writeFileSync(path.join(at, 'kustomization.yaml'), stringify({ resources: [rel('deploy'), ...(values ? ['network-namespaces.yaml'] : [])], components: [rel('deploy/network-namespaces')] }));
      if (values) writeFileSync(path.join(at, 'network-namespaces.yaml'), values);
      return at;
    };
    before(() => {
      withoutValues = overlay();
      dir = overlay(
        stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'planasonix-network-namespaces', annotations: { 'config.kubernetes.io/local-config': 'true' } },
          data: { ingress: 'traefik', prometheus: 'observability' },
        }),
      );
    });
    after(() => {
      for (const d of [dir, withoutValues]) rmSync(d, { recursive: true, force: true });
    });

    it('sets the webhooks rule to the ingress namespace and both metrics rules to the Prometheus one, and applies nothing of the values', async () => {
      const built = await buildOverlay(dir);
      expect(admittedNamespaces(built)).to.deep.equal(TRAEFIK_AND_OBSERVABILITY);
      expect(built.filter((o) => o.metadata.name === 'planasonix-network-namespaces')).to.deep.equal([]);
      // Everything else is the base, unchanged.
      expect(built.filter((o) => o.kind !== 'NetworkPolicy')).to.deep.equal(objects.filter((o) => o.kind !== 'NetworkPolicy'));
    });

    it('refuses to build without the values, rather than keeping the defaults silently', async () => {
      const res = await kubectl(['kustomize', withoutValues]);
      expect(res.code).to.not.equal(0);
      expect(res.stderr).to.include('planasonix-network-namespaces');
    });
  });

  describe('the autoscaling component (deploy/autoscaling)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'planasonix-overlay-'));
      const rel = (p: string) => path.relative(dir, path.join(repoRoot, p));
      writeFileSync(path.join(dir, 'kustomization.yaml'), stringify({ resources: [rel('deploy')], components: [rel('deploy/autoscaling')] }));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('scales the receiver Deployment (never the operator) on CPU, from at least its two replicas, accepted by the API server', async () => {
      const res = await kubectl(['kustomize', dir]);
      expect(res.code, res.stderr).to.equal(0);
      const built = parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
      const hpa = findObject(built, 'HorizontalPodAutoscaler', RECEIVER_NAME) as Manifest & {
        spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number; metrics: { resource?: { name: string } }[] };
      };
      expect(hpa.metadata.namespace).to.equal(OPERATOR_NAMESPACE);
      expect(hpa.spec.scaleTargetRef).to.include({ kind: 'Deployment', name: RECEIVER_NAME });
      expect(hpa.spec.minReplicas).to.be.at.least(2);
      expect(hpa.spec.maxReplicas).to.be.greaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics.map((m) => m.resource?.name)).to.deep.equal(['cpu']);
      const receiver = findObject(built, 'Deployment', RECEIVER_NAME) as Manifest & { spec: DeploymentSpec };
      expect(receiver.spec.template.spec.containers[0]!.resources?.requests?.cpu, 'utilization needs a CPU request').to.be.a('string');
      const dryRun = await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], stringify(hpa));
      expect(dryRun.code, dryRun.stderr).to.equal(0);
    });
  });

  describe('the Ingress component (deploy/ingress)', () => {
    let dir: string;
    before(() => {
      // An overlay as the component's comment tells a user to write, outside the repository.
      dir = mkdtempSync(path.join(tmpdir(), 'planasonix-overlay-'));
      const rel = (p: string) => path.relative(dir, path.join(repoRoot, p));
      writeFileSync(path.join(dir, 'kustomization.yaml'), stringify({ resources: [rel('deploy')], components: [rel('deploy/ingress')] }));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('adds a TLS Ingress for /hooks/ only, on the host of the external URL, accepted by the API server', async () => {
      const res = await kubectl(['kustomize', dir]);
      expect(res.code, res.stderr).to.equal(0);
      const built = parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
      const ingress = findObject(built, 'Ingress', 'planasonix-webhook') as Manifest & {
        spec: { tls: { hosts: string[]; secretName: string }[]; rules: { host: string; http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { name: string } } } }[] } }[] };
      };
      expect(ingress.metadata.namespace).to.equal(OPERATOR_NAMESPACE);
      expect(ingress.spec.rules).to.have.length(1);
      const rule = ingress.spec.rules[0]!;
      expect(ingress.spec.tls[0]!.hosts).to.include(rule.host);
      expect(rule.http.paths.map((p) => [p.path, p.pathType])).to.deep.equal([['/hooks/', 'Prefix']]);
      expect(rule.http.paths[0]!.backend.service).to.deep.equal({ name: 'planasonix-webhook', port: { name: 'webhooks' } });
      const configMap = built.find((o) => o.kind === 'ConfigMap') as Manifest & { data: Record<string, string> };
      expect(new URL(configMap.data.PLANASONIX_EXTERNAL_URL!).host).to.equal(rule.host);

      const dryRun = await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], stringify(ingress));
      expect(dryRun.code, dryRun.stderr).to.equal(0);
    });
  });

  it('builds deploy/monitoring, whose ServiceMonitor scrapes the metrics Service by port name', async () => {
    const monitoring = await kustomizeBuild('deploy/monitoring');
    const monitor = findObject(monitoring.objects, 'ServiceMonitor', OPERATOR_NAME) as Manifest & {
      spec: { namespaceSelector?: unknown; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; honorLabels?: boolean }[] };
    };
    const service = findObject(objects, 'Service', `${OPERATOR_NAME}-metrics`) as Manifest & { spec: { ports: { name: string }[] } };
    // Its own namespace, the Service's: no namespaceSelector that an overlay would have to rewrite.
    expect(monitor.metadata.namespace).to.equal(service.metadata.namespace);
    expect(monitor.spec.namespaceSelector).to.equal(undefined);
    expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v)).to.equal(true);
    // ...and no other Service of the base: the receiver's Service must not be scraped.
    const others = objects.filter((o) => o.kind === 'Service' && o !== service);
    for (const o of others) expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v), o.metadata.name).to.equal(false);
    expect(monitor.spec.endpoints.map((e) => [e.port, e.path, e.honorLabels])).to.deep.equal([[service.spec.ports[0]!.name, '/metrics', true]]);
    expect(monitoring.objects.map((o) => o.kind)).to.include.members(['PrometheusRule', 'ConfigMap']);
  });

  it('moves whole into an overlay\'s namespace, monitoring included: nothing still names planasonix-system', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'planasonix-overlay-'));
    try {
      writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          // kustomize takes only relative paths to other kustomizations.
          resources: [path.relative(dir, path.join(repoRoot, 'deploy')), path.relative(dir, path.join(repoRoot, 'deploy/monitoring'))],
          components: [path.relative(dir, path.join(repoRoot, 'deploy/ingress')), path.relative(dir, path.join(repoRoot, 'deploy/autoscaling'))],
          // As the README says: `namespace: hooks-prod` alone would leave the bindings' subjects in
          // planasonix-system (kustomize moves only subjects named "default" unless told otherwise).
          transformers: [
            stringify({
              apiVersion: 'builtin',
              kind: 'NamespaceTransformer',
              metadata: { name: 'hooks-prod', namespace: 'hooks-prod' },
              setRoleBindingSubjects: 'allServiceAccounts',
            }),
          ],
          // The base's own Namespace object, renamed with the rest.
          patches: [{ target: { kind: 'Namespace' }, patch: '[{"op": "replace", "path": "/metadata/name", "value": "hooks-prod"}]' }],
        }),
      );
      const res = await kubectl(['kustomize', dir]);
      expect(res.code, res.stderr).to.equal(0);
      const built = parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
      expect(res.stdout).not.to.include(OPERATOR_NAMESPACE);
      for (const o of built.filter((o) => !['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'Namespace'].includes(o.kind))) {
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).to.equal('hooks-prod');
      }
      expect(built.map((o) => o.kind)).to.include.members(['ServiceMonitor', 'PrometheusRule', 'Ingress', 'HorizontalPodAutoscaler']);
      // And every object, opt-ins included, carries the standard labels, at package.json's version.
      const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
      for (const o of built) {
        expect(o.metadata.labels, `${o.kind}/${o.metadata.name}`).to.include({
          'app.kubernetes.io/part-of': 'planasonix',
          'app.kubernetes.io/instance': OPERATOR_NAME,
          'app.kubernetes.io/version': version,
        });
        if (o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace') expect(o.metadata.labels, `${o.kind}/${o.metadata.name}`).to.have.property('app.kubernetes.io/name');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

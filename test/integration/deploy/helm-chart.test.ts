// The Helm chart as a platform team meets it: generated from deploy/ and not stale, `helm lint`
// clean, rendering with its default values exactly what `kubectl kustomize deploy` builds, every
// value doing what values.yaml says, and accepted by a real API server in any namespace.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, renderChart } from '../../../tools/render-chart.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { ensureControlPlane, controlPlane } from '../../harness/root-hooks.ts';
import { kubectl, useNamespace } from '../../harness/fixtures.ts';
import { gitopsToolsDir, runTool } from '../../harness/gitops-tools.ts';
import { kustomizeBuild, OPERATOR_NAME, OPERATOR_NAMESPACE, type Manifest } from './deploy-helpers.ts';

const chart = path.join(repoRoot, CHART_DIR);

async function helmTemplate(namespace: string, ...args: string[]): Promise<Manifest[]> {
  const res = await runTool('helm', ['template', OPERATOR_NAME, chart, '--namespace', namespace, '--include-crds', ...args]);
  expect(res.code, res.stderr).to.equal(0);
  return parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

const key = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objects: Manifest[]) => new Map(objects.map((o) => [key(o), o]));

/** Helm's own labels and its config checksum, which a kustomize build has no reason to carry. */
function withoutHelmBookkeeping(o: Manifest): Manifest {
  return JSON.parse(JSON.stringify(o), (k: string, v: unknown) => {
    if ((k === 'labels' || k === 'annotations') && v && typeof v === 'object') {
      const kept = Object.fromEntries(
        Object.entries(v as Record<string, string>).filter(([name]) => !['helm.sh/chart', 'app.kubernetes.io/managed-by', 'checksum/config'].includes(name)),
      );
      return Object.keys(kept).length ? kept : undefined;
    }
    return v;
  }) as Manifest;
}

/** kustomize's content hash on the generated ConfigMap's name (Helm rolls pods by a checksum instead). */
function withoutConfigHash(o: Manifest): Manifest {
  return JSON.parse(JSON.stringify(o).replace(/"(planasonix-webhook-operator-config)-[a-z0-9]{10}"/g, '"$1"')) as Manifest;
}

function containers(o: Manifest): { name: string; image: string; resources?: unknown; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[] {
  return (o as unknown as { spec: { template: { spec: { containers: [] } } } }).spec.template.spec.containers;
}

describe('Helm chart deploy/helm (helm lint, helm template, real API server)', function () {
  this.timeout(180_000);
  const ns = useNamespace('helm');

  before(async function () {
    this.timeout(20 * 60_000); // the first use may build the control plane and helm
    await ensureControlPlane();
    gitopsToolsDir();
  });

  it('is what tools/render-chart.ts generates from deploy/ (run it after changing deploy/)', () => {
    const want = renderChart(controlPlane().kubectl);
    const have = new Map<string, string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        const full = path.join(dir, e);
        if (statSync(full).isDirectory()) walk(full);
        else have.set(path.relative(chart, full), readFileSync(full, 'utf8'));
      }
    };
    walk(chart);
    expect([...have.keys()].sort()).to.deep.equal([...want.keys()].sort());
    for (const [file, text] of want) expect(have.get(file), `${CHART_DIR}/${file} is stale: node tools/render-chart.ts`).to.equal(text);
  });

  it('passes helm lint --strict, with its defaults and with every switch on', async () => {
    for (const args of [[], ['--set', 'monitoring.enabled=true,ingress.enabled=true,autoscaling.enabled=true,tls.secretName=hooks-tls,commonLabels.team=data']]) {
      const res = await runTool('helm', ['lint', '--strict', chart, ...args]);
      expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
      expect(res.stdout).to.include('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders with its default values exactly the objects kubectl kustomize deploy builds', async () => {
    const rendered = (await helmTemplate(OPERATOR_NAMESPACE)).map(withoutHelmBookkeeping);
    const built = (await kustomizeBuild('deploy')).objects
      // The release's namespace comes from `helm install --create-namespace` (or exists already).
      .filter((o) => o.kind !== 'Namespace')
      .map(withoutConfigHash);
    const want = byKey(built);
    const have = byKey(rendered);
    expect([...have.keys()].sort()).to.deep.equal([...want.keys()].sort());
    for (const [k, o] of want) expect(have.get(k), k).to.deep.equal(o);
  });

  it('installs into the release namespace, whatever it is: no object names planasonix-system', async () => {
    const rendered = await helmTemplate('hooks-prod', '--set', 'monitoring.enabled=true,ingress.enabled=true,autoscaling.enabled=true');
    const text = JSON.stringify(rendered);
    expect(text).not.to.include(OPERATOR_NAMESPACE);
    for (const o of rendered.filter((o) => !['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))) {
      expect(o.metadata.namespace, key(o)).to.equal('hooks-prod');
    }
    const binding = rendered.find((o) => o.kind === 'ClusterRoleBinding')! as unknown as { subjects: { namespace: string }[] };
    expect(binding.subjects.map((s) => s.namespace)).to.deep.equal(['hooks-prod']);
  });

  it('applies every value: image, replicas, resources, configuration, TLS, Ingress, monitoring, labels', async () => {
    const rendered = await helmTemplate(
      'hooks',
      '--set',
      [
        'image.repository=registry.internal/planasonix/operator',
        'image.tag=9.9.9',
        'image.pullPolicy=Always',
        'operator.replicas=3',
        'operator.resources.limits.memory=512Mi',
        'config.PLANASONIX_NAMESPACES=team-a\\,team-b',
        'config.PLANASONIX_TRUSTED_PROXIES=10.0.0.0/8',
        'tls.secretName=hooks-tls',
        'ingress.enabled=true',
        'ingress.host=hooks.internal',
        'monitoring.enabled=true',
        'autoscaling.enabled=true',
        'autoscaling.maxReplicas=20',
        'networkPolicy.prometheusNamespace=observability',
        'commonLabels.team=data',
      ].join(','),
    );
    const deployments = rendered.filter((o) => o.kind === 'Deployment');
    expect(deployments).to.not.have.length(0);
    const operator = deployments.find((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'operator')!;
    expect((operator as unknown as { spec: { replicas: number } }).spec.replicas).to.equal(3);
    const main = containers(operator)[0]!;
    expect(main.image).to.equal('registry.internal/planasonix/operator:9.9.9');
    expect((main as unknown as { imagePullPolicy: string }).imagePullPolicy).to.equal('Always');
    expect(main.resources).to.deep.include({ limits: { cpu: '1', memory: '512Mi' } });

    const config = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'planasonix-webhook-operator-config') as unknown as { data: Record<string, string> };
    expect(config.data).to.include({ PLANASONIX_NAMESPACES: 'team-a,team-b', PLANASONIX_TRUSTED_PROXIES: '10.0.0.0/8' });

    // TLS: the receiver's container serves HTTPS from the mounted Secret.
    const receiving = deployments.flatMap(containers).filter((c) => c.env?.some((e) => e.name === 'PLANASONIX_TLS_CERT_FILE'));
    expect(receiving).to.have.length(1);
    const cert = receiving[0]!.env!.find((e) => e.name === 'PLANASONIX_TLS_CERT_FILE')!.value!;
    const mount = receiving[0]!.volumeMounts!.find((m) => m.name === 'tls')!;
    expect(path.dirname(cert)).to.equal(mount.mountPath);

    const ingress = rendered.find((o) => o.kind === 'Ingress') as unknown as { spec: { rules: { host: string }[]; tls: { hosts: string[] }[] } };
    expect(ingress.spec.rules[0]!.host).to.equal('hooks.internal');
    expect(ingress.spec.tls[0]!.hosts).to.deep.equal(['hooks.internal']);
    expect(rendered.map((o) => o.kind)).to.include.members(['ServiceMonitor', 'PrometheusRule']);
    const hpa = rendered.find((o) => o.kind === 'HorizontalPodAutoscaler') as unknown as { spec: { maxReplicas: number; scaleTargetRef: { name: string } } };
    expect(hpa.spec.maxReplicas).to.equal(20);
    expect(deployments.map((d) => d.metadata.name)).to.include(hpa.spec.scaleTargetRef.name);
    // Prometheus's namespace, in every rule that admits scrapes; no rule still names the default.
    const policies = JSON.stringify(rendered.filter((o) => o.kind === 'NetworkPolicy'));
    expect(policies).to.include('"kubernetes.io/metadata.name":"observability"');
    expect(policies).not.to.include('"kubernetes.io/metadata.name":"monitoring"');

    for (const o of rendered.filter((o) => o.kind !== 'CustomResourceDefinition')) {
      expect(o.metadata.labels, key(o)).to.include({ team: 'data', 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': OPERATOR_NAME });
    }
    // A changed configuration changes the pods' checksum, so that they roll.
    const before = (await helmTemplate('hooks')).find((o) => o.kind === 'Deployment')!;
    const annotation = (d: Manifest) => (d as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations['checksum/config'];
    expect(annotation(before)).to.match(/^[0-9a-f]{64}$/);
    expect(annotation(operator)).to.match(/^[0-9a-f]{64}$/).and.not.equal(annotation(before));
  });

  it('is accepted by the API server in another namespace (server-side dry run)', async () => {
    const rendered = await helmTemplate(ns(), '--set', 'ingress.enabled=true,autoscaling.enabled=true,tls.secretName=hooks-tls');
    // The CRDs and cluster-wide RBAC exist once per cluster; the rest is the release's namespace.
    const namespaced = rendered.filter((o) => o.metadata.namespace === ns());
    const text = namespaced.map((o) => JSON.stringify(o)).join('\n');
    const res = await kubectl(['apply', '--server-side', '--field-manager=planasonix-helm-test', '--dry-run=server', '-f', '-'], text);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.trim().split('\n')).to.have.length(namespaced.length);
  });
});

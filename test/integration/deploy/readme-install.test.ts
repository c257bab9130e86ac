// The README's "Installing in a cluster" section, run verbatim as a platform engineer would, in a
// shell with the machine's own PATH plus the kubectl and helm they bring (here: the control plane's
// kubectl and the helm tools/gitops builds): make image, make release, then the kubectl install and
// the Helm install, each into the test control plane and removed again.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../harness/control-plane.ts';
import { controlPlane, ensureControlPlane } from '../../harness/root-hooks.ts';
import { kubectl } from '../../harness/fixtures.ts';
import { runProgram } from '../../harness/programs.ts';
import { gitopsToolsDir } from '../../harness/gitops-tools.ts';
import { machinePath, readmeBlocks } from '../../harness/readme.ts';
import { kustomizeBuild, operatorNamespaceExists, uninstallDeploy, OPERATOR_NAMESPACE, type Manifest } from './deploy-helpers.ts';

const HEADING = '## Installing in a cluster';

/** Stand-ins for the Prometheus Operator's CRDs, which the README's monitoring line needs. */
const PROMETHEUS_OPERATOR_CRDS = ['servicemonitors', 'prometheusrules'].map((plural) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.monitoring.coreos.com` },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural, singular: plural.slice(0, -1), kind: plural === 'servicemonitors' ? 'ServiceMonitor' : 'PrometheusRule', listKind: plural === 'servicemonitors' ? 'ServiceMonitorList' : 'PrometheusRuleList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
}));

/** Runs the lines as one bash script; its output is stdout and stderr as they interleaved. */
async function shell(lines: string[]): Promise<{ code: number; output: string }> {
  const plane = controlPlane();
  // The user's own kubectl and helm, on the machine's PATH; not the project's Node.js.
  const PATH = [path.dirname(plane.kubectl), gitopsToolsDir(), machinePath()].join(path.delimiter);
  const script = ['exec 2>&1', 'set -euo pipefail', ...lines].join('\n');
  const { code, stdout } = await runProgram('bash', ['-c', script], { cwd: repoRoot, env: { ...process.env, PATH, KUBECONFIG: plane.kubeconfig } });
  return { code, output: stdout };
}

async function deploymentImages(): Promise<Record<string, string>> {
  const res = await kubectl(['get', 'deployments', '-n', OPERATOR_NAMESPACE, '-o', 'json']);
  expect(res.code, res.stderr).to.equal(0);
  const list = JSON.parse(res.stdout) as { items: { metadata: { name: string }; spec: { template: { spec: { containers: { image: string }[] } } } }[] };
  return Object.fromEntries(list.items.map((d) => [d.metadata.name, d.spec.template.spec.containers[0]!.image]));
}

describe("README: installing in a cluster, run verbatim (make image, make release, kubectl, helm)", function () {
  this.timeout(15 * 60_000); // make image builds the image: a minute or two
  const [build = [], withKubectl = [], withHelm = []] = readmeBlocks(HEADING);
  let installed: Manifest[] = [];
  let imageRef = '';

  before(async function () {
    this.timeout(30 * 60_000); // the first use may build the control plane and helm
    await ensureControlPlane();
    gitopsToolsDir();
    if (await operatorNamespaceExists()) {
      // A cluster with the operator already in it (PLANASONIX_USE_EXISTING_CLUSTER): not ours to overwrite.
      this.skip();
    }
    const crds = await kubectl(['apply', '--server-side', '-f', '-'], PROMETHEUS_OPERATOR_CRDS.map((c) => JSON.stringify(c)).join('\n'));
    expect(crds.code, crds.stderr).to.equal(0);
    const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...PROMETHEUS_OPERATOR_CRDS.map((c) => `crd/${c.metadata.name}`)]);
    expect(established.code, established.stderr).to.equal(0);
  });

  after(async () => {
    if (installed.length) await uninstallDeploy(installed);
  });

  it('has the three blocks: build, install with kubectl, install with Helm', () => {
    expect(build).to.deep.equal(['make image', 'make release']);
    expect(withKubectl.every((l) => l.startsWith('kubectl '))).to.equal(true);
    expect(withHelm.every((l) => l.startsWith('helm '))).to.equal(true);
  });

  it('builds the image deploy/ names as an OCI archive, and the release files', async () => {
    const res = await shell(build);
    expect(res.code, res.output).to.equal(0);
    const index = JSON.parse(execFileSync('tar', ['-xOf', path.join(repoRoot, 'dist/image.oci.tar'), 'index.json'], { encoding: 'utf8' })) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    imageRef = index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'] ?? '';
    const { objects } = await kustomizeBuild('deploy');
    const images = objects.filter((o) => o.kind === 'Deployment').map((d) => (d as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image);
    expect(images).to.have.length(2);
    for (const image of images) expect(imageRef).to.equal(image);
  });

  it('installs with kubectl: every object of dist/install.yaml, both Deployments on the built image, and monitoring', async () => {
    installed = (await kustomizeBuild('deploy')).objects;
    const res = await shell(withKubectl);
    expect(res.code, res.output).to.equal(0);
    expect(Object.values(await deploymentImages())).to.deep.equal([imageRef, imageRef]);
    const monitor = await kubectl(['get', 'servicemonitor.monitoring.coreos.com,prometheusrule.monitoring.coreos.com', '-n', OPERATOR_NAMESPACE, '-o', 'name']);
    expect(monitor.stdout.trim().split('\n')).to.have.length(2);
    await uninstallDeploy(installed);
    installed = [];
  });

  it('installs with Helm into a fresh namespace: the same Deployments, managed by Helm, and monitoring', async () => {
    installed = (await kustomizeBuild('deploy')).objects;
    const res = await shell(withHelm);
    expect(res.code, res.output).to.equal(0);
    expect(res.output).to.match(/STATUS: deployed/);
    expect(Object.values(await deploymentImages())).to.deep.equal([imageRef, imageRef]);
    const managed = await kubectl(['get', 'deployments', '-n', OPERATOR_NAMESPACE, '-l', 'app.kubernetes.io/managed-by=Helm', '-o', 'name']);
    expect(managed.stdout.trim().split('\n')).to.have.length(2);
    const monitor = await kubectl(['get', 'servicemonitor.monitoring.coreos.com', '-n', OPERATOR_NAMESPACE, '-o', 'name']);
    expect(monitor.stdout.trim()).to.not.equal('');
    const uninstall = await shell([`helm uninstall planasonix-webhook-operator --namespace ${OPERATOR_NAMESPACE}`]);
    expect(uninstall.code, uninstall.output).to.equal(0);
  });
});

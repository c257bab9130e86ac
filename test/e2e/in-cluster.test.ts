// The README's in-cluster install, end to end on a cluster of its own: the image `make image` built
// is imported into a node's runtime (as `ctr images import` would on a node), `kubectl apply
// --server-side -k deploy/` starts both Deployments on it, and the sample trigger's signed delivery,
// sent with `planasonix send` to the receiver's Service, ends in a Succeeded run whose Pod printed
// the params. The operator's Pods reach the API server through the kubernetes Service with their
// ServiceAccount tokens, and the delivery reaches a receiver Pod through kube-proxy: nothing here
// runs in the test process but the sender.
//
// A second control plane, because the installed operator watches every namespace (the shared plane
// is full of other tests' triggers), and because its node routes Services, which one node per
// machine may do at a time (kube-proxy owns the host's iptables chains).
import { expect } from 'chai';
import path from 'node:path';
import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { RESOURCES, type ResourceType } from '../../src/kube/resources.ts';
import type { WebhookTrigger } from '../../src/api/types.ts';
import { buildImageArchive, repoRoot, startControlPlane, type ControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../harness/fixtures.ts';
import { runProgram } from '../harness/programs.ts';
import { OPERATOR_NAME, OPERATOR_NAMESPACE, RECEIVER_NAME } from '../integration/deploy/deploy-helpers.ts';

const SAMPLES_NAMESPACE = 'planasonix-samples';
const IMAGE = 'ghcr.io/planasonix/webhook-operator';
// Kinds the operator itself never touches, so not in RESOURCES.
const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };
const SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };

describe('installed from deploy/ on a cluster: the image runs the operator, a delivery through its Service succeeds', function () {
  this.timeout(5 * 60_000);
  let plane: ControlPlane;
  let client: KubeClient;
  let archive = '';

  /** A command line of the README, run with this cluster's KUBECONFIG and the project's bin/ on PATH. */
  const run = (program: string, args: string[]) =>
    runProgram(program, args, {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: plane.kubeconfig, PATH: `${path.join(repoRoot, 'bin')}:${path.dirname(plane.kubectl)}:${process.env.PATH}` },
    });
  const kubectl = (...args: string[]) => run(plane.kubectl, args);
  /** What the cluster's Pods went through, for a failure message. */
  const diagnose = async () => {
    const pods = await kubectl('get', 'pods', '-A', '-o', 'wide');
    const events = await kubectl('get', 'events', '-A', '--sort-by=.lastTimestamp');
    const logs = await kubectl('logs', '-n', OPERATOR_NAMESPACE, '-l', 'app.kubernetes.io/name=planasonix-webhook-operator', '--tail=15', '--prefix');
    return `${pods.stdout}\n${events.stdout.split('\n').slice(-30).join('\n')}\n${logs.stdout}${logs.stderr}`;
  };

  before(async function () {
    this.timeout(25 * 60_000); // the first image build assembles the bases and runs npm ci in the image
    archive = buildImageArchive();
    plane = await startControlPlane({ services: true });
    if (!plane.node?.services) throw new Error(`no node that routes Services: ${plane.nodeError ?? 'the plane started without one'}`);
    client = KubeClient.fromDefault({ kubeconfig: plane.kubeconfig });
    await plane.command(`import-image ${archive}`);
  });

  after(async () => {
    await plane?.stop();
  });

  it('kubectl apply --server-side -k deploy/ makes both Deployments Available, their Pods on the node running the imported image', async () => {
    const applied = await kubectl('apply', '--server-side', '-k', 'deploy/');
    expect(applied.code, applied.stderr).to.equal(0);
    const waited = await kubectl('wait', '--for=condition=Available', '--timeout=180s', '-n', OPERATOR_NAMESPACE, `deployment/${OPERATOR_NAME}`, `deployment/${RECEIVER_NAME}`);
    expect(waited.code, `${waited.stderr}\n${await diagnose()}`).to.equal(0);

    for (const name of [OPERATOR_NAME, RECEIVER_NAME]) {
      const deployment = await client.get<V1Deployment>(DEPLOYMENTS, OPERATOR_NAMESPACE, name);
      expect(deployment.status?.readyReplicas, name).to.equal(2);
    }
    const pods = await client.list<V1Pod & { metadata: { name: string } }>(RESOURCES.pods, OPERATOR_NAMESPACE);
    expect(pods.items).to.have.length(4);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName, pod.metadata.name).to.equal(plane.node!.name);
      expect(pod.spec?.containers[0]?.image, pod.metadata.name).to.match(new RegExp(`^${IMAGE}:`));
      expect(pod.status?.containerStatuses?.[0]?.ready, pod.metadata.name).to.equal(true);
      // A token of its own ServiceAccount, mounted by the plane's ServiceAccount admission.
      expect(pod.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)), pod.metadata.name).to.equal(true);
    }
    // Never pulled (there is no registry): each container started from the imported image.
    const pulled = await kubectl('get', 'events', '-n', OPERATOR_NAMESPACE, '--field-selector=reason=Pulled', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}');
    const messages = pulled.stdout.trim().split('\n');
    expect(messages, pulled.stderr).to.have.length.of.at.least(4);
    for (const message of messages) expect(message).to.match(/already present on machine/);
    // One operator replica leads (it reached the API server from its Pod and took the Lease).
    const lease = await kubectl('get', 'lease', '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.items[*].spec.holderIdentity}');
    expect(pods.items.map((p) => p.metadata.name)).to.include(lease.stdout.trim());
  });

  it('the sample trigger becomes Ready, and `planasonix send` to the receiver Service starts a run that Succeeds on the node', async () => {
    expect((await kubectl('create', 'namespace', SAMPLES_NAMESPACE)).code).to.equal(0);
    const samples = await kubectl('apply', '-n', SAMPLES_NAMESPACE, '-k', 'deploy/examples-local');
    expect(samples.code, samples.stderr).to.equal(0);
    await eventually(async () => {
      const t = await client.get<WebhookTrigger>(RESOURCES.webhookTriggers, SAMPLES_NAMESPACE, 'export-completed');
      return t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 60_000, 250).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${(await kubectl('get', 'webhooktrigger', '-A', '-o', 'yaml')).stdout}\n${(await kubectl('logs', '-n', OPERATOR_NAMESPACE, '-l', 'app.kubernetes.io/component=operator', '--tail=40')).stdout}`);
    });

    const service = await client.get<V1Service>(SERVICES, OPERATOR_NAMESPACE, 'planasonix-webhook');
    const receiver = `http://${service.spec!.clusterIP}:${service.spec!.ports![0]!.port}`;
    // The receiver may not have routed the new trigger yet (404) the moment the operator says Ready.
    const sent = await eventually(async () => {
      const res = await run('planasonix', ['send', '--trigger', 'export-completed', '-n', SAMPLES_NAMESPACE,
        '--data', 'deploy/examples/export-completed-payload.json', '--url-override', receiver]);
      return res.code === 0 ? res : undefined;
    }, 60_000, 1_000);
    expect(sent.stdout).to.match(/^HTTP 202 Accepted\n/);
    const runName = /^PipelineRun: \S+\/(\S+)$/m.exec(sent.stdout)?.[1];
    expect(runName, sent.stdout).to.be.a('string');

    const succeeded = await kubectl('wait', '--for=condition=Succeeded', '--timeout=180s', '-n', SAMPLES_NAMESPACE, `pipelineruns.planasonix.io/${runName}`);
    expect(succeeded.code, `${succeeded.stderr}\n${await diagnose()}`).to.equal(0);
    const logs = await kubectl('logs', '-n', SAMPLES_NAMESPACE, '-l', 'planasonix.io/trigger=export-completed', '--tail=-1');
    expect(logs.code, logs.stderr).to.equal(0);
    expect(logs.stdout).to.include('PARAM_EXPORT_ID=exp_8f3c21');
    expect(logs.stdout).to.include(`PLANASONIX_PIPELINE_RUN=${runName}`);
  });
});

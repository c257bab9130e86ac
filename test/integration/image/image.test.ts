// The image `make image` builds, run: its OCI archive loads into a fresh image store, and the
// image's own entrypoint, user and working directory (nothing from the checkout) run the operator
// against the test control plane, which makes a trigger Ready and answers a signed delivery with
// 202 and a PipelineRun. Run with Debian's buildah (chroot isolation, the host's network), since
// there is no container engine here; tools/image/build.sh builds the archive.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { buildImageArchive } from '../../harness/control-plane.ts';
import { freePorts } from '../../harness/ports.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { pipelineObject, triggerObject } from '../webhook-trigger/trigger-fixtures.ts';
import { sendDelivery, webhookEndpoint } from '../deploy/deploy-helpers.ts';

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
}

describe('the operator image (make image), run against the control plane', function () {
  this.timeout(120_000);
  const ns = useNamespace('image');
  let store = '';
  let archive = '';
  let image = '';
  let container = '';
  let operator: ChildProcess | undefined;
  let exited: Promise<number | null> | undefined;
  const output: string[] = [];
  let receiverUrl = '';
  // A private image store, so that nothing the build left behind can stand in for the archive.
  const buildah = (...args: string[]) =>
    execFileSync('buildah', ['--root', path.join(store, 'storage'), '--runroot', path.join(store, 'run'), '--storage-driver', 'vfs', ...args], {
      encoding: 'utf8',
      env: { ...process.env, BUILDAH_ISOLATION: 'chroot' },
    }).trim();

  before(async function () {
    this.timeout(20 * 60_000); // the first build assembles the bases and runs npm ci in the image
    archive = buildImageArchive();
    store = mkdtempSync(path.join(tmpdir(), 'planasonix-image-'));
    image = buildah('pull', '-q', `oci-archive:${archive}`);
  });

  after(async () => {
    if (operator?.pid !== undefined && operator.exitCode === null && operator.signalCode === null) {
      process.kill(-operator.pid, 'SIGKILL'); // only if a test failed before stopping it: our own group
      await exited;
    }
    if (container) buildah('rm', container);
    if (store) rmSync(store, { recursive: true, force: true });
  });

  it('is an image of the Dockerfile: non-root user 65532, the compiled CLI as entrypoint, `run` as command', () => {
    const config = (JSON.parse(buildah('inspect', '--type', 'image', image)) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    expect(config.User).to.equal('65532:65532');
    expect(config.Entrypoint).to.deep.equal(['/nodejs/bin/node', 'lib/cli/main.js']);
    expect(config.Cmd).to.deep.equal(['run']);
    expect(config.WorkingDir).to.equal('/app');
  });

  it('runs the operator: a trigger becomes Ready, and a signed delivery to the container\'s receiver is answered 202 with a PipelineRun', async () => {
    const config = (JSON.parse(buildah('inspect', '--type', 'image', image)) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    // Credentials inside the file, readable by the image's user: the control plane's are files on this host.
    const kubeconfig = path.join(store, 'kubeconfig');
    const flat = await kubectl(['config', 'view', '--minify', '--flatten', '--kubeconfig', controlPlane().kubeconfig]);
    expect(flat.code, flat.stderr).to.equal(0);
    writeFileSync(kubeconfig, flat.stdout, { mode: 0o644 });
    const [webhookPort, metricsPort, healthPort] = await freePorts(3);
    receiverUrl = `http://127.0.0.1:${webhookPort}`;
    container = buildah('from', '--pull-never', '-q', image);
    const flags = [
      `--namespaces=${ns()}`,
      '--leader-elect=false',
      `--webhook-port=${webhookPort}`,
      `--metrics-port=${metricsPort}`,
      `--health-port=${healthPort}`,
      `--external-url=${receiverUrl}`,
      '--webhook-bind-address=127.0.0.1',
    ];
    // The image's entrypoint and command, as a container runtime would start them.
    operator = spawn(
      'buildah',
      ['--root', path.join(store, 'storage'), '--runroot', path.join(store, 'run'), '--storage-driver', 'vfs', 'run', '--network', 'host',
        '-v', `${kubeconfig}:/etc/planasonix/kubeconfig:ro`, '--env', 'KUBECONFIG=/etc/planasonix/kubeconfig',
        container, '--', ...config.Entrypoint, ...config.Cmd, ...flags],
      { env: { ...process.env, BUILDAH_ISOLATION: 'chroot' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    exited = new Promise((resolve) => operator!.once('exit', (code) => resolve(code)));
    operator.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    operator.stderr!.on('data', (d: Buffer) => output.push(d.toString()));

    const client = adminClient();
    await client.create(RESOURCES.pipelines, pipelineObject(ns(), 'loader', { params: [{ name: 'export_id', type: 'string', required: true }] }));
    await client.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'export-completed', { pipelineRef: { name: 'loader' }, params: [{ name: 'export_id', from: 'body', path: '/export_id' }] }));
    await eventually(async () => {
      if (operator!.exitCode !== null) throw new Error(`the image's operator exited with ${operator!.exitCode}:\n${output.join('')}`);
      const t = await client.get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), 'export-completed');
      return t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 60_000, 250);
    const endpoint = await webhookEndpoint(ns(), 'export-completed');
    const answer = await eventually(async () => {
      const res = await sendDelivery(receiverUrl, endpoint.path, endpoint.signingSecret, { export_id: 'exp_image' }).catch(() => undefined);
      return res && res.status !== 503 && res.status !== 404 ? res : undefined; // the receiver may not have routed it yet
    }, 30_000, 250);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(202);
    const run = (answer.body.pipelineRun as { name: string }).name;
    const stored = await client.get<PipelineRun>(RESOURCES.pipelineRuns, ns(), run);
    expect(stored.spec.params).to.deep.equal({ export_id: 'exp_image' });
    // The image's run controller made its Job.
    await eventually(async () => (await client.list(RESOURCES.jobs, ns())).items.length === 1, 30_000, 250);
  });

  it('stops on SIGTERM', async () => {
    process.kill(-operator!.pid!, 'SIGTERM');
    const code = await Promise.race([exited!, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
    expect(code, output.join('').slice(-2000)).to.not.equal('timeout');
  });
});

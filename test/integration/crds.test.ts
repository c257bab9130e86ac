// The CRDs as a user meets them through a real API server and kubectl: installed and Established, the
// samples accepted, bad specs rejected with a message that names the field, the printer columns, the
// defaults, and kubectl explain.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { adminClient, kubectl, readYamlObjects, useNamespace } from '../harness/fixtures.ts';
import type { ProgramResult } from '../harness/programs.ts';
import { repoRoot } from '../harness/control-plane.ts';
import { RESOURCES, type ResourceType } from '../../src/kube/resources.ts';
import { API_VERSION, KINDS } from '../../src/api/constants.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import type { Pipeline, PipelineRun, WebhookTrigger } from '../../src/api/types.ts';

const CRD_NAMES = ['webhooktriggers.planasonix.io', 'pipelines.planasonix.io', 'pipelineruns.planasonix.io', 'deliveryrecords.planasonix.io'];
const CORRELATION_ID = '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
  status?: unknown;
}
type Fields = Record<string, unknown>;

const jobTemplate = {
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'load', image: 'ghcr.io/example/export-loader:3' }] } } },
};

/** A valid WebhookTrigger with `spec` merged over its minimal spec; tests break one field at a time. */
function triggerManifest(name: string, spec: Fields = {}): Manifest {
  return { apiVersion: API_VERSION, kind: KINDS.webhookTrigger.kind, metadata: { name }, spec: { pipelineRef: { name: 'export-loader' }, ...spec } };
}

function pipelineManifest(name: string, spec: Fields = {}): Manifest {
  return { apiVersion: API_VERSION, kind: KINDS.pipeline.kind, metadata: { name }, spec: { jobTemplate, ...spec } };
}

function runManifest(name: string, spec: Fields = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipelineRun.kind,
    metadata: { name },
    spec: {
      pipelineRef: { name: 'export-loader' },
      params: { export_id: 'exp_8f3c21' },
      trigger: { name: 'export-completed', deliveryId: 'msg_2b8e4a6c', receivedTime: '2025-01-02T03:04:05Z' },
      correlationId: CORRELATION_ID,
      ...spec,
    },
  };
}

/** Splits kubectl's table output into rows keyed by column header, using the header's column offsets. */
function parseTable(stdout: string): { headers: string[]; rows: Record<string, string>[] } {
  const [header = '', ...lines] = stdout.split('\n').filter((l) => l.trim() !== '');
  const headers = header.trim().split(/\s{2,}/);
  const starts: number[] = [];
  for (const h of headers) starts.push(header.indexOf(h, starts.length ? starts[starts.length - 1]! + 1 : 0));
  const rows = lines.map((line) =>
    Object.fromEntries(headers.map((h, i) => [h, line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()])),
  );
  return { headers, rows };
}

/** Resolves a JSON Pointer (RFC 6901) in a parsed JSON document; undefined when nothing is there. */
function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let node = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(token in node)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

/** The paths under which `expected` has a value that `actual` lacks or differs from. */
function findMissing(actual: unknown, expected: unknown, at = ''): string[] {
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return [at];
    return Object.entries(expected).flatMap(([k, v]) => findMissing((actual as Record<string, unknown>)[k], v, `${at}/${k}`));
  }
  return actual === expected ? [] : [at];
}

function expectAccepted(res: ProgramResult): void {
  expect(res.stderr, 'kubectl stderr').to.equal('');
  expect(res.code, 'kubectl exit code').to.equal(0);
}

describe('CustomResourceDefinitions (crds/*.yaml)', function () {
  const ns = useNamespace('crds');
  const kube = () => adminClient();
  /** Creates the manifest in this file's namespace through the API (no kubectl) and returns what the server stored. */
  const createInNamespace = async <T,>(resource: ResourceType, manifest: Manifest): Promise<T> =>
    (await kube().create(resource, { ...manifest, metadata: { ...manifest.metadata, namespace: ns() } })) as unknown as T;

  describe('installation', () => {
    it('are Established', async () => {
      for (const name of CRD_NAMES) {
        const crd = await kube().get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
          RESOURCES.customResourceDefinitions,
          undefined,
          name,
        );
        const established = crd.status?.conditions?.find((c) => c.type === 'Established');
        expect(established?.status, `${name} Established`).to.equal('True');
      }
    });

    it('answer to short names that no built-in resource uses, and to the planasonix category', async () => {
      const res = await kubectl(['api-resources', '-o', 'wide']);
      expectAccepted(res);
      const { rows } = parseTable(res.stdout);
      const shortNamesOf = (row: Record<string, string>) => (row.SHORTNAMES ?? '').split(',').filter(Boolean);
      // DeliveryRecords are the receiver's bookkeeping: no short name, and not in `kubectl get planasonix`.
      const records = rows.find((r) => r.APIVERSION === API_VERSION && r.NAME === 'deliveryrecords');
      expect(records && shortNamesOf(records)).to.deep.equal([]);
      expect(records?.CATEGORIES ?? '').to.equal('');
      const ours = rows.filter((r) => r.APIVERSION === API_VERSION && r.NAME !== 'deliveryrecords');
      expect(Object.fromEntries(ours.map((r) => [r.NAME, shortNamesOf(r).sort()]))).to.deep.equal({
        webhooktriggers: ['wht'],
        pipelines: ['pl'],
        pipelineruns: ['plr'],
      });
      for (const r of ours) {
        expect(r.NAMESPACED, r.NAME).to.equal('true');
        expect(r.CATEGORIES, r.NAME).to.equal('planasonix');
      }
      const others = rows.filter((r) => r.APIVERSION !== API_VERSION).flatMap(shortNamesOf);
      const ourShortNames = ours.flatMap(shortNamesOf);
      for (const name of ourShortNames) expect(others, name).to.not.include(name);
      // Nor any short name of the products that share clusters with us: Tekton (pr, prs, tr, trs, p),
      // Argo Workflows and Events (wf, wfs, wftmpl, eb, es, sn), Flux (ks, hr, gitrepo) and Argo CD (app).
      const neighbours = ['pr', 'prs', 'tr', 'trs', 'p', 'wf', 'wfs', 'wftmpl', 'eb', 'es', 'sn', 'ks', 'hr', 'gitrepo', 'app', 'apps'];
      expect(ourShortNames.filter((n) => neighbours.includes(n))).to.deep.equal([]);

      for (const args of [['get', 'wht'], ['get', 'pl'], ['get', 'plr'], ['get', 'planasonix']]) {
        const got = await kubectl([...args, '-n', ns()]);
        expect(got.code, `kubectl ${args.join(' ')}: ${got.stderr}`).to.equal(0);
      }
    });

    it('keep status out of create and update, since only the operator writes it (status subresource)', async () => {
      const created = await createInNamespace<PipelineRun>(RESOURCES.pipelineRuns, { ...runManifest('status-on-create'), status: { phase: 'Succeeded' } });
      expect(created.status?.phase).to.equal(undefined);
      const patched = await kube().mergePatch<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'status-on-create', { status: { phase: 'Failed' } });
      expect(patched.status?.phase).to.equal(undefined);
      const viaStatus = await kube().patchStatus<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'status-on-create', { phase: 'Pending' });
      expect(viaStatus.status?.phase).to.equal('Pending');
    });
  });

  describe('the samples in deploy/examples', () => {
    it('are accepted by a server-side dry run and then for real, and keep every field', async () => {
      const dir = path.join(repoRoot, 'deploy/examples');
      const dry = await kubectl(['apply', '-n', ns(), '-k', dir, '--dry-run=server']);
      expectAccepted(dry);
      expect(dry.stdout).to.include('pipeline.planasonix.io/export-loader created (server dry run)');
      expect(dry.stdout).to.include('webhooktrigger.planasonix.io/export-completed created (server dry run)');

      const applied = await kubectl(['apply', '-n', ns(), '-k', dir]);
      expectAccepted(applied);

      for (const file of ['deploy/examples/export-loader-pipeline.yaml', 'deploy/examples/export-completed-trigger.yaml']) {
        const [sample] = readYamlObjects(file) as unknown as Manifest[];
        expect(sample, file).to.not.equal(undefined);
        const resource = sample!.kind === KINDS.pipeline.kind ? RESOURCES.pipelines : RESOURCES.webhookTriggers;
        const stored = await kube().get<KubeObject & { spec: unknown }>(resource, ns(), sample!.metadata.name);
        expect(findMissing(stored.spec, sample!.spec), `${file}: fields pruned or changed by the API server`).to.deep.equal([]);
      }
    });

    it('map the sample payload: every body path of the trigger finds a value, of the declared type', () => {
      const payload = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/examples/export-completed-payload.json'), 'utf8')) as unknown;
      const [trigger] = readYamlObjects('deploy/examples/export-completed-trigger.yaml') as unknown as WebhookTrigger[];
      const bodyParams = (trigger?.spec.params ?? []).filter((p) => p.from === 'body');
      expect(bodyParams.map((p) => p.name)).to.deep.equal(['export_id', 'location', 'record_count']);
      expect(Object.fromEntries(bodyParams.map((p) => [p.name, resolvePointer(payload, p.path ?? '')]))).to.deep.equal({
        export_id: 'exp_8f3c21',
        location: 's3://exports-bucket/exp_8f3c21/',
        record_count: 482910,
      });
      const numberParams = bodyParams.filter((p) => p.type === 'number').map((p) => p.name);
      expect(numberParams).to.deep.equal(['record_count']);
    });

    it('agree with each other: the trigger fills only params the Pipeline declares, and every required one', () => {
      const [pipeline] = readYamlObjects('deploy/examples/export-loader-pipeline.yaml') as unknown as Pipeline[];
      const [trigger] = readYamlObjects('deploy/examples/export-completed-trigger.yaml') as unknown as WebhookTrigger[];
      expect(trigger?.spec.pipelineRef?.name).to.equal(pipeline?.metadata.name);
      const declared = (pipeline?.spec.params ?? []).map((p) => p.name);
      const mapped = (trigger?.spec.params ?? []).map((p) => p.name);
      expect(declared).to.include.members(mapped);
      expect(mapped).to.include.members((pipeline?.spec.params ?? []).filter((p) => p.required).map((p) => p.name));
      expect((pipeline?.spec.versions ?? []).map((v) => v.name)).to.deep.equal(['v4-beta']);
    });
  });

  describe('rejects a bad spec with a message that names the field', () => {
    const rejections: { title: string; manifest: Manifest; field: string; says?: string }[] = [
      {
        title: 'a bad CIDR in allowedSourceRanges',
        manifest: triggerManifest('bad-cidr', { allowedSourceRanges: ['203.0.113.0/24', '10.0.0.0/33'] }),
        field: 'spec.allowedSourceRanges[1]',
        says: 'must be a CIDR range',
      },
      {
        title: 'an address without a prefix length in allowedSourceRanges',
        manifest: triggerManifest('bare-ip', { allowedSourceRanges: ['203.0.113.7'] }),
        field: 'spec.allowedSourceRanges[0]',
        says: 'must be a CIDR range',
      },
      {
        title: 'an unknown auth scheme',
        manifest: triggerManifest('bad-scheme', { auth: { scheme: 'hmac-sha1' } }),
        field: 'spec.auth.scheme',
        says: 'Unsupported value: "hmac-sha1"',
      },
      {
        title: 'a negative tolerance',
        manifest: triggerManifest('negative-tolerance', { auth: { tolerance: '-5m' } }),
        field: 'spec.auth.tolerance',
      },
      {
        title: 'a malformed tolerance',
        manifest: triggerManifest('malformed-tolerance', { auth: { tolerance: '5 minutes' } }),
        field: 'spec.auth.tolerance',
      },
      {
        title: 'a publicKey with scheme github, which has no asymmetric mode',
        manifest: triggerManifest('github-public-key', { auth: { scheme: 'github', publicKey: '-----BEGIN PUBLIC KEY-----' } }),
        field: 'spec.auth.publicKey',
        says: 'only supported by the planasonix and standard-webhooks schemes',
      },
      {
        title: 'a publicKey with scheme bearer',
        manifest: triggerManifest('bearer-public-key', { auth: { scheme: 'bearer', publicKey: '-----BEGIN PUBLIC KEY-----' } }),
        field: 'spec.auth.publicKey',
      },
      {
        title: 'a secretRef with scheme none',
        manifest: triggerManifest('none-secret', { auth: { scheme: 'none', secretRef: { name: 'billing-webhook' } } }),
        field: 'spec.auth.secretRef',
      },
      {
        title: 'a secretRef whose name carries a namespace',
        manifest: triggerManifest('namespaced-secret', { auth: { secretRef: { name: 'other-team/billing-webhook' } } }),
        field: 'spec.auth.secretRef.name',
      },
      {
        title: 'rotation with a secretRef, which the operator does not rotate',
        manifest: triggerManifest('rotate-user-secret', { auth: { secretRef: { name: 'billing-webhook' }, rotation: { every: '720h' } } }),
        field: 'spec.auth.rotation',
        says: 'needs a generated secret',
      },
      {
        title: 'rotation with both every and schedule',
        manifest: triggerManifest('rotation-both', { auth: { rotation: { every: '720h', schedule: '0 3 * * SUN' } } }),
        field: 'spec.auth.rotation',
        says: 'exactly one of every or schedule',
      },
      {
        title: 'rotation with neither every nor schedule',
        manifest: triggerManifest('rotation-neither', { auth: { rotation: { overlap: '24h' } } }),
        field: 'spec.auth.rotation',
        says: 'exactly one of every or schedule',
      },
      {
        title: 'a rotation overlap longer than its interval',
        manifest: triggerManifest('rotation-overlap', { auth: { rotation: { every: '24h', overlap: '36h' } } }),
        field: 'spec.auth.rotation.overlap',
        says: 'must not be longer than spec.auth.rotation.every',
      },
      {
        title: 'a rotation interval in days, which Go durations lack',
        manifest: triggerManifest('rotation-days', { auth: { rotation: { every: '90d' } } }),
        field: 'spec.auth.rotation.every',
      },
      {
        title: 'two params with one name',
        manifest: triggerManifest('duplicate-params', {
          params: [
            { name: 'export_id', path: '/export_id' },
            { name: 'export_id', path: '/id' },
          ],
        }),
        field: 'spec.params[1]',
        says: 'Duplicate value',
      },
      {
        title: 'a param path that is not a JSON Pointer',
        manifest: triggerManifest('bad-pointer', { params: [{ name: 'export_id', from: 'body', path: 'export_id' }] }),
        field: 'spec.params[0].path',
      },
      {
        title: 'a param from body without path',
        manifest: triggerManifest('body-without-path', { params: [{ name: 'export_id', from: 'body' }] }),
        field: 'spec.params[0].path',
        says: 'Required value',
      },
      {
        title: 'a param from header without header',
        manifest: triggerManifest('header-without-name', { params: [{ name: 'requested_by', from: 'header' }] }),
        field: 'spec.params[0].header',
        says: 'Required value',
      },
      {
        title: 'a param from query without query',
        manifest: triggerManifest('query-without-name', { params: [{ name: 'region', from: 'query' }] }),
        field: 'spec.params[0].query',
        says: 'Required value',
      },
      {
        title: 'a param from body that names a header',
        manifest: triggerManifest('body-with-header', { params: [{ name: 'export_id', from: 'body', path: '/export_id', header: 'X-Export' }] }),
        field: 'spec.params[0].header',
        says: 'applies only with from header',
      },
      {
        title: 'idempotency from header without the header name',
        manifest: triggerManifest('idempotency-header', { idempotency: { from: 'header' } }),
        field: 'spec.idempotency.header',
        says: 'Required value',
      },
      {
        title: 'idempotency from body without a path',
        manifest: triggerManifest('idempotency-body', { idempotency: { from: 'body' } }),
        field: 'spec.idempotency.path',
        says: 'Required value',
      },
      {
        title: 'a rate limit below one request per minute',
        manifest: triggerManifest('zero-rate', { rateLimit: { requestsPerMinute: 0 } }),
        field: 'spec.rateLimit.requestsPerMinute',
      },
      {
        title: 'maxBytes over 64Mi as a quantity',
        manifest: triggerManifest('huge-body', { payload: { maxBytes: '128Mi' } }),
        field: 'spec.payload.maxBytes',
        says: 'between 1 byte and 64Mi',
      },
      {
        title: 'maxBytes over 64Mi as a number',
        manifest: triggerManifest('huge-body-number', { payload: { maxBytes: 100_000_000 } }),
        field: 'spec.payload.maxBytes',
        says: 'between 1 byte and 64Mi',
      },
      {
        title: 'maxBytes that is not a size',
        manifest: triggerManifest('bad-size', { payload: { maxBytes: 'lots' } }),
        field: 'spec.payload.maxBytes',
      },
      {
        title: 'a pipelineRef.name that is not a DNS-1123 name',
        manifest: triggerManifest('bad-pipeline-name', { pipelineRef: { name: 'Export_Loader' } }),
        field: 'spec.pipelineRef.name',
      },
      {
        title: 'a trigger with neither pipelineRef nor targets',
        manifest: { ...triggerManifest('no-pipeline'), spec: { suspend: true } },
        field: 'spec',
        says: 'set exactly one of spec.pipelineRef (one Pipeline) and spec.targets (several)',
      },
      {
        title: 'a trigger name too long for the label values that carry it',
        manifest: triggerManifest('a'.repeat(64)),
        field: 'metadata.name',
        says: 'at most 63 characters',
      },
      {
        title: 'a misspelt field (kubectl validates strictly)',
        manifest: triggerManifest('misspelt', { auth: { tolerence: '5m' } }),
        field: 'spec.auth.tolerence',
        says: 'unknown field',
      },
      {
        title: 'a Pipeline with two params of one name',
        manifest: pipelineManifest('duplicate-params', { params: [{ name: 'export_id' }, { name: 'export_id', type: 'number' }] }),
        field: 'spec.params[1]',
        says: 'Duplicate value',
      },
      {
        title: 'a Pipeline with two versions of one name',
        manifest: pipelineManifest('duplicate-versions', {
          versions: [
            { name: 'v4-beta', jobTemplate },
            { name: 'v4-beta', jobTemplate },
          ],
        }),
        field: 'spec.versions[1]',
        says: 'Duplicate value',
      },
      {
        title: 'a Pipeline with negative retries',
        manifest: pipelineManifest('negative-retries', { retries: -1 }),
        field: 'spec.retries',
      },
      {
        title: 'a Pipeline param that is required and has a default',
        manifest: pipelineManifest('required-default', { params: [{ name: 'export_id', required: true, default: 'exp_0' }] }),
        field: 'spec.params[0].default',
        says: 'cannot be set on a required param',
      },
      {
        title: 'a Pipeline number param whose default is not a number',
        manifest: pipelineManifest('number-default', { params: [{ name: 'record_count', type: 'number', default: 'many' }] }),
        field: 'spec.params[0].default',
        says: 'must be a number',
      },
      {
        title: 'a Pipeline with an unknown concurrencyPolicy',
        manifest: pipelineManifest('bad-concurrency', { concurrencyPolicy: 'Sometimes' }),
        field: 'spec.concurrencyPolicy',
        says: 'Unsupported value',
      },
      {
        title: 'a Pipeline with a zero timeout',
        manifest: pipelineManifest('zero-timeout', { timeout: '0s' }),
        field: 'spec.timeout',
        says: 'at least 1s',
      },
      {
        title: 'a Pipeline whose jobTemplate has no spec',
        manifest: pipelineManifest('no-job-spec', { jobTemplate: { metadata: { labels: { team: 'data' } } } }),
        field: 'spec.jobTemplate.spec',
        says: 'Required value',
      },
      {
        title: 'a PipelineRun without correlationId',
        manifest: { ...runManifest('no-correlation'), spec: { pipelineRef: { name: 'export-loader' } } },
        field: 'spec.correlationId',
        says: 'Required value',
      },
      {
        title: 'a PipelineRun whose pipelineRef.name is not a DNS-1123 name',
        manifest: runManifest('bad-pipeline-name', { pipelineRef: { name: 'export loader' } }),
        field: 'spec.pipelineRef.name',
      },
    ];

    it('accepts the valid objects the cases below each break in one field', async () => {
      for (const manifest of [triggerManifest('valid-trigger'), pipelineManifest('valid-pipeline'), runManifest('valid-run')]) {
        expectAccepted(await kubectl(['create', '-n', ns(), '--dry-run=server', '-f', '-'], JSON.stringify(manifest)));
      }
    });

    for (const r of rejections) {
      it(r.title, async () => {
        const res = await kubectl(['create', '-n', ns(), '-f', '-'], JSON.stringify(r.manifest));
        expect(res.code, `accepted: ${res.stdout}`).to.not.equal(0);
        expect(res.stderr).to.include(r.field);
        if (r.says) expect(res.stderr).to.include(r.says);
      });
    }

    it('a PipelineRun status with an unknown phase', async () => {
      await createInNamespace(RESOURCES.pipelineRuns, runManifest('bad-phase'));
      const res = await kubectl(['patch', 'pipelinerun', 'bad-phase', '-n', ns(), '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Done"}}']);
      expect(res.code, `accepted: ${res.stdout}`).to.not.equal(0);
      expect(res.stderr).to.include('status.phase');
      expect(res.stderr).to.include('Unsupported value: "Done"');
    });

    it('a change to a PipelineRun correlationId or params after creation, but not cancelling it', async () => {
      await createInNamespace(RESOURCES.pipelineRuns, runManifest('immutable'));
      const changeId = await kubectl(['patch', 'pipelinerun', 'immutable', '-n', ns(), '--type=merge', '-p', '{"spec":{"correlationId":"another-id"}}']);
      expect(changeId.code, `accepted: ${changeId.stdout}`).to.not.equal(0);
      expect(changeId.stderr).to.include('spec.correlationId cannot change');
      const changeParams = await kubectl(['patch', 'pipelinerun', 'immutable', '-n', ns(), '--type=merge', '-p', '{"spec":{"params":{"export_id":"exp_other"}}}']);
      expect(changeParams.code, `accepted: ${changeParams.stdout}`).to.not.equal(0);
      expect(changeParams.stderr).to.include('spec.params cannot change');
      const cancel = await kubectl(['patch', 'pipelinerun', 'immutable', '-n', ns(), '--type=merge', '-p', '{"spec":{"cancelled":true}}']);
      expectAccepted(cancel);
    });
  });

  describe('printer columns', () => {
    it('kubectl get pipelineruns.planasonix.io shows pipeline, trigger, phase, correlation, start and completion', async () => {
      await createInNamespace(RESOURCES.pipelineRuns, runManifest('columns-run'));
      const started = new Date(Date.now() - 90_000).toISOString().replace(/\.\d+Z$/, 'Z');
      await kube().patchStatus(RESOURCES.pipelineRuns, ns(), 'columns-run', { phase: 'Running', reason: 'JobActive', startTime: started });

      const running = await kubectl(['get', 'pipelineruns.planasonix.io', '-n', ns(), 'columns-run']);
      expectAccepted(running);
      const table = parseTable(running.stdout);
      expect(table.headers).to.deep.equal(['NAME', 'PIPELINE', 'TRIGGER', 'PHASE', 'CORRELATION', 'STARTED', 'COMPLETED', 'AGE']);
      expect(table.rows[0]).to.include({
        NAME: 'columns-run',
        PIPELINE: 'export-loader',
        TRIGGER: 'export-completed',
        PHASE: 'Running',
        CORRELATION: CORRELATION_ID,
        COMPLETED: '',
      });
      expect(table.rows[0]?.STARTED).to.match(/^(8\d|9\d)s$/);

      await kube().patchStatus(RESOURCES.pipelineRuns, ns(), 'columns-run', {
        phase: 'Succeeded',
        reason: 'Completed',
        completionTime: new Date(Date.now() - 30_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      const wide = parseTable((await kubectl(['get', 'plr', '-n', ns(), 'columns-run', '-o', 'wide'])).stdout);
      expect(wide.headers).to.include('REASON');
      expect(wide.rows[0]).to.include({ PHASE: 'Succeeded', REASON: 'Completed' });
      expect(wide.rows[0]?.COMPLETED).to.match(/^(2\d|3\d)s$/);
    });

    it('kubectl get webhooktriggers shows pipeline, auth, readiness and the last delivery', async () => {
      await createInNamespace(RESOURCES.webhookTriggers, triggerManifest('columns-trigger'));
      const before = parseTable((await kubectl(['get', 'webhooktriggers', '-n', ns(), 'columns-trigger'])).stdout);
      expect(before.headers).to.deep.equal(['NAME', 'PIPELINE', 'AUTH', 'READY', 'LAST DELIVERY', 'AGE']);
      expect(before.rows[0]).to.include({ NAME: 'columns-trigger', PIPELINE: 'export-loader', AUTH: 'planasonix', READY: '' });

      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await kube().patchStatus(RESOURCES.webhookTriggers, ns(), 'columns-trigger', {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Serving', message: 'deliveries are accepted', lastTransitionTime: now }],
        lastDelivery: { time: new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, 'Z'), correlationId: 'f2b9c1de-8f1a-4b1e-9c51-1c0ad3a5e0f7', pipelineRun: 'columns-trigger-abc' },
      });
      const wide = parseTable((await kubectl(['get', 'wht', '-n', ns(), 'columns-trigger', '-o', 'wide'])).stdout);
      expect(wide.headers).to.deep.equal(['NAME', 'PIPELINE', 'AUTH', 'READY', 'REASON', 'LAST DELIVERY', 'AGE']);
      expect(wide.rows[0]).to.include({ READY: 'True', REASON: 'Serving' });
      expect(wide.rows[0]?.['LAST DELIVERY']).to.match(/^(2m|1\d\ds)/);
    });

    it('kubectl get pipelines shows readiness, the trigger count, versions and the concurrency policy', async () => {
      const [sample] = readYamlObjects('deploy/examples/export-loader-pipeline.yaml') as unknown as Manifest[];
      await createInNamespace(RESOURCES.pipelines, { ...sample!, metadata: { name: 'columns-pipeline' } });
      await kube().patchStatus(RESOURCES.pipelines, ns(), 'columns-pipeline', {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'params and templates are valid; 2 triggers point at it', lastTransitionTime: '2025-03-01T10:00:00Z' }],
        triggers: 2,
      });
      const table = parseTable((await kubectl(['get', 'pl', '-n', ns(), 'columns-pipeline'])).stdout);
      expect(table.headers).to.deep.equal(['NAME', 'READY', 'TRIGGERS', 'VERSIONS', 'CONCURRENCY', 'AGE']);
      expect(table.rows[0]).to.include({ NAME: 'columns-pipeline', READY: 'True', TRIGGERS: '2', VERSIONS: 'v4-beta', CONCURRENCY: 'Queue' });
    });
  });

  describe('defaults', () => {
    it('fills in a minimal WebhookTrigger: scheme planasonix, tolerance 5m, 1Mi bodies, scheme idempotency', async () => {
      const created = await createInNamespace<WebhookTrigger>(
        RESOURCES.webhookTriggers,
        triggerManifest('minimal', { params: [{ name: 'export_id', path: '/export_id' }] }),
      );
      const stored = await kube().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), 'minimal');
      for (const t of [created, stored]) {
        expect(t.spec.auth).to.deep.equal({ scheme: 'planasonix', tolerance: '5m' });
        expect(t.spec.payload).to.deep.equal({ strict: false, maxBytes: '1Mi' });
        expect(t.spec.idempotency).to.deep.equal({ from: 'scheme' });
        expect(t.spec.suspend).to.equal(false);
        expect(t.spec.params).to.deep.equal([{ name: 'export_id', from: 'body', path: '/export_id', type: 'string' }]);
      }
    });

    it('defaults the key of a user-provided signing Secret to signing-secret', async () => {
      const created = await createInNamespace<WebhookTrigger>(
        RESOURCES.webhookTriggers,
        triggerManifest('own-secret', { auth: { scheme: 'standard-webhooks', secretRef: { name: 'billing-webhook' } } }),
      );
      expect(created.spec.auth).to.deep.equal({
        scheme: 'standard-webhooks',
        secretRef: { name: 'billing-webhook', key: 'signing-secret' },
        tolerance: '5m',
      });
    });

    it('fills in a minimal Pipeline: concurrency Allow, no retries, keep 10 succeeded and 10 failed runs', async () => {
      const created = await createInNamespace<Pipeline>(RESOURCES.pipelines, pipelineManifest('minimal', { params: [{ name: 'export_id' }] }));
      expect(created.spec.concurrencyPolicy).to.equal('Allow');
      expect(created.spec.retries).to.equal(0);
      expect(created.spec.history).to.deep.equal({ succeeded: 10, failed: 10 });
      expect(created.spec.params).to.deep.equal([{ name: 'export_id', type: 'string' }]);
      expect(created.spec.jobTemplate).to.deep.equal(jobTemplate);
    });
  });

  describe('kubectl explain', () => {
    it('teaches spec.auth: scheme with its values and default, secretRef, publicKey, tolerance, rotation', async () => {
      const res = await kubectl(['explain', 'webhooktrigger.spec.auth']);
      expectAccepted(res);
      const text = res.stdout.replace(/\s+/g, ' ');
      for (const field of ['scheme', 'secretRef', 'publicKey', 'tolerance', 'rotation']) {
        expect(text, field).to.match(new RegExp(`\\b${field} <(string|Object)>`));
      }
      expect(text).to.include('enum: planasonix, standard-webhooks, github, bearer');
      expect(text).to.include('Defaults to planasonix.');
      expect(text).to.include('a Go duration such as 30s, 5m or 1h30m');
      expect(text).to.include('Defaults to 5m.');
    });

    it('teaches rotation: every, schedule and overlap', async () => {
      const res = await kubectl(['explain', 'wht.spec.auth.rotation']);
      expectAccepted(res);
      const text = res.stdout.replace(/\s+/g, ' ');
      expect(text).to.include('Set exactly one of every or schedule');
      for (const field of ['every', 'schedule', 'overlap']) expect(text, field).to.match(new RegExp(`\\b${field} <string>`));
    });

    it('teaches the PipelineRun phases', async () => {
      const res = await kubectl(['explain', 'pipelinerun.status.phase']);
      expectAccepted(res);
      expect(res.stdout).to.include('Pending');
      expect(res.stdout).to.include('Cancelled');
    });
  });
});

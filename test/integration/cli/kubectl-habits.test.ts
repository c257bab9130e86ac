// The CLI as kubectl users expect it, against the real API server: run as the kubectl plugin
// `kubectl planasonix` (bin/kubectl-planasonix on PATH), honouring --kubeconfig, --context, -n and
// -A, printing -o json|yaml|wide|name, and completing commands, flags and names in bash and through
// kubectl's plugin completion (bin/kubectl_complete-planasonix).
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { API_VERSION } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { adminClient, useNamespace } from '../../harness/fixtures.ts';
import { createRun } from '../pipeline-run/run-fixtures.ts';
import { runCli, runShell } from './cli-harness.ts';

const BIN = path.join(repoRoot, 'bin');

describe('the CLI fits kubectl habits (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('cli-kubectl');
  const other = useNamespace('cli-kubectl-b');
  let kubectlDir = '';
  /** PATH with the test control plane's kubectl and the repository's bin/ (as the README's install). */
  let pathWithPlugin = '';
  let correlationId = '';

  before(async () => {
    kubectlDir = path.dirname(controlPlane().kubectl);
    pathWithPlugin = `${BIN}:${kubectlDir}:${process.env.PATH}`;
    const run = await createRun(ns(), 'first', 'loader');
    correlationId = run.spec.correlationId;
    await createRun(ns(), 'second', 'loader');
    await createRun(other(), 'elsewhere', 'loader');
    const trigger: WebhookTrigger = {
      apiVersion: API_VERSION,
      kind: 'WebhookTrigger',
      metadata: { name: 'hook', namespace: ns() },
      spec: { pipelineRef: { name: 'loader' }, filter: "body.event == 'export.completed'", params: [{ name: 'export_id', from: 'body', path: '/export_id' }] },
    };
    await adminClient().create(RESOURCES.webhookTriggers, trigger);
  });

  const shell = (line: string, env: NodeJS.ProcessEnv = {}) => runShell(line, { KUBECONFIG: controlPlane().kubeconfig, PATH: pathWithPlugin, ...env });

  it('runs as `kubectl planasonix`, with -o json printing a v1 List of the runs', async () => {
    const result = await shell(`kubectl planasonix runs -n ${ns()} -o json`);
    expect(result.code, result.stderr).to.equal(0);
    const list = JSON.parse(result.stdout) as { kind: string; items: PipelineRun[] };
    expect(list.kind).to.equal('List');
    expect(list.items.map((r) => r.metadata.name).toSorted()).to.deep.equal(['first', 'second']);
    const help = await shell('kubectl planasonix --help');
    expect(help.stdout).to.include('planasonix rerun RUN');
  });

  it('lists as a table, with NAMESPACE under -A and more columns under -o wide; -o name and -o yaml as kubectl', async () => {
    const table = await runCli(['runs', '-n', ns()]);
    expect(table.code, table.stderr).to.equal(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header!.split(/\s{3,}/)).to.deep.equal(['NAME', 'PIPELINE', 'TRIGGER', 'PHASE', 'REASON', 'CORRELATION', 'AGE']);
    expect(rows).to.have.length(2);

    const wide = await runCli(['runs', '-n', ns(), '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]!.split(/\s{3,}/)).to.deep.equal(['NAME', 'PIPELINE', 'TRIGGER', 'PHASE', 'REASON', 'CORRELATION', 'AGE', 'DELIVERY', 'RERUN-OF', 'JOB', 'TRACEPARENT']);

    const all = await runCli(['runs', '-A', '-l', 'planasonix.io/pipeline=loader']);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout.split('\n')[0]).to.match(/^NAMESPACE\s+NAME/);
    for (const [namespace, name] of [[ns(), 'first'], [ns(), 'second'], [other(), 'elsewhere']]) {
      expect(all.stdout).to.match(new RegExp(`^${namespace}\\s+${name}\\s`, 'm'));
    }

    const names = await runCli(['runs', '-n', ns(), '--correlation-id', correlationId, '-o', 'name']);
    expect(names.stdout).to.equal('pipelinerun.planasonix.io/first\n');
    const yaml = await runCli(['status', '--correlation-id', correlationId, '-n', ns(), '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).to.equal(0);
    expect((parse(yaml.stdout) as { items: PipelineRun[] }).items.map((r) => r.spec.correlationId)).to.deep.equal([correlationId]);

    const none = await runCli(['runs', '-n', ns(), '--trigger', 'nothing-here']);
    expect([none.code, none.stdout, none.stderr]).to.deep.equal([0, '', `No resources found in ${ns()} namespace.\n`]);
    const both = await runCli(['runs', '-n', ns(), '-A']);
    expect(both.code).to.equal(2);
  });

  it('shows a trigger with -o json (the object) and -o wide (its filter and params)', async () => {
    const json = await runCli(['status', '--trigger', 'hook', '-n', ns(), '-o', 'json']);
    expect(json.code, json.stderr).to.equal(0);
    expect((JSON.parse(json.stdout) as WebhookTrigger).spec.filter).to.equal("body.event == 'export.completed'");
    const wide = await runCli(['status', '--trigger', 'hook', '-n', ns(), '-o', 'wide']);
    expect(wide.stdout).to.match(/Filter:\s+body\.event == 'export\.completed'/);
    expect(wide.stdout).to.match(/Params:\s+export_id ← body \/export_id/);
    const bad = await runCli(['status', '--trigger', 'hook', '-n', ns(), '-o', 'name']);
    expect(bad.code).to.equal(2);
  });

  it('honours --kubeconfig and --context, with a clear error for an unknown context', async () => {
    // A kubeconfig whose current context points at nothing, and whose "plane" context is the test control plane.
    const dir = mkdtempSync(path.join(tmpdir(), 'planasonix-kubeconfig-'));
    const file = path.join(dir, 'config');
    copyFileSync(controlPlane().kubeconfig, file);
    const config = parse(readFileSync(file, 'utf8')) as { contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[]; clusters: { name: string; cluster: Record<string, unknown> }[]; 'current-context': string };
    const real = config.contexts.find((c) => c.name === config['current-context'])!;
    config.clusters.push({ name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } });
    config.contexts.push({ name: 'plane', context: { ...real.context, namespace: ns() } }, { name: 'broken', context: { cluster: 'nowhere', user: real.context.user } });
    config['current-context'] = 'broken';
    writeFileSync(file, stringify(config));

    const viaContext = await runCli(['runs', '--kubeconfig', file, '--context', 'plane', '-o', 'name'], { env: { KUBECONFIG: '/nonexistent' } });
    expect(viaContext.code, viaContext.stderr).to.equal(0);
    // The context's namespace is the default namespace, as with kubectl.
    expect(viaContext.stdout.split('\n').filter(Boolean).toSorted()).to.deep.equal(['pipelinerun.planasonix.io/first', 'pipelinerun.planasonix.io/second']);
    const current = await runCli(['runs', '--kubeconfig', file, '-n', ns()]);
    expect(current.code).to.equal(1);
    expect(current.stderr).to.include('cannot reach the API server at https://127.0.0.1:1');
    const unknown = await runCli(['runs', '--kubeconfig', file, '--context', 'nope']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('context "nope" does not exist in the kubeconfig');
  });

  it('completes in bash: commands, flags, -o formats, and run names from the API server', async () => {
    const complete = (words: string[]) =>
      shell(`source <(planasonix completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _planasonix_complete; printf '%s\\n' "\${COMPREPLY[@]}"`);
    expect((await complete(['planasonix', 're'])).stdout).to.equal('rerun\n');
    expect((await complete(['planasonix', 'runs', '--all'])).stdout).to.equal('--all-namespaces\n');
    expect((await complete(['planasonix', 'runs', '-o', ''])).stdout.split('\n').filter(Boolean)).to.deep.equal(['wide', 'json', 'yaml', 'name']);
    expect((await complete(['planasonix', 'rerun', '-n', ns(), 'f'])).stdout).to.equal('first\n');
    expect((await complete(['kubectl-planasonix', 'status', '-n', ''])).stdout.split('\n')).to.include(other());
  });

  it("completes through kubectl's plugin completion (kubectl_complete-planasonix)", async () => {
    const result = await shell(`kubectl __complete planasonix rer`);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.split('\n')).to.include('rerun');
    const runs = await shell(`kubectl __complete planasonix rerun -n ${ns()} sec`);
    expect(runs.stdout.split('\n')).to.include('second');
  });
});

// The KUBEBUILDER_ASSETS mode of the test harness (test/harness/envtest-assets.ts), without
// downloading envtest: tools/controlplane dispatches on the name it is invoked by, so a directory of
// links named etcd, kube-apiserver and kubectl to it is a faithful stand-in for envtest's assets.
// Each test here starts its own control plane through the module, never the run's shared one.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { buildControlPlane, repoRoot } from '../../harness/control-plane.ts';
import { startEnvtestAssets, type EnvtestControlPlane } from '../../harness/envtest-assets.ts';
import { runProgram, type ProgramResult } from '../../harness/programs.ts';

function kubectl(plane: EnvtestControlPlane, args: string[]): Promise<ProgramResult> {
  return runProgram(plane.kubectl, ['--request-timeout=10s', ...args], { env: { ...process.env, KUBECONFIG: plane.kubeconfig } });
}

/** True while pid names a process that is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line mentions text (the plane's directory is in every child's flags). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function gone(pids: number[], timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

const hasSetpriv = (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, 'setpriv')));

describe('harness: KUBEBUILDER_ASSETS mode (envtest binaries started from TypeScript)', function () {
  this.timeout(120_000);
  let scratch = '';
  let assets = '';

  before(function () {
    this.timeout(15 * 60_000); // a cold build of tools/controlplane takes minutes
    if (!existsSync('/proc')) this.skip();
    const binary = buildControlPlane();
    scratch = mkdtempSync(path.join(tmpdir(), 'planasonix-envtest-assets-test-'));
    // The links get their own directory, like the one `setup-envtest use -p path` prints.
    assets = path.join(scratch, 'bin');
    mkdirSync(assets);
    for (const name of ['etcd', 'kube-apiserver', 'kubectl']) symlinkSync(binary, path.join(assets, name));
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a directory without the three binaries, naming what is missing', async () => {
    const empty = mkdtempSync(path.join(scratch, 'empty-'));
    let error: unknown;
    await startEnvtestAssets(empty).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/missing or not executable: etcd, kube-apiserver, kubectl/);
  });

  describe('one control plane through its whole life', () => {
    let plane: EnvtestControlPlane;
    let pids: number[] = [];
    after(async () => plane?.stop());

    it('starts etcd and kube-apiserver from the assets and serves kubectl with the admin certificate', async () => {
      plane = await startEnvtestAssets(assets, { tmpRoot: scratch });
      pids = plane.pids();
      expect(pids).to.have.length(2);
      expect(plane.owned).to.equal(true);
      expect(plane.kubectl).to.equal(path.join(assets, 'kubectl'));
      expect(plane.server).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(plane.kubeconfig).to.equal(path.join(plane.dir, 'kubeconfig'));
      const who = await kubectl(plane, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
      expect(who.code, who.stderr).to.equal(0);
      expect(who.stdout).to.include('admin').and.to.include('system:masters');
    });

    it('stores a Secret that kubectl reads back', async () => {
      const ns = await kubectl(plane, ['create', 'namespace', 'envtest-assets']);
      expect(ns.code, ns.stderr).to.equal(0);
      const created = await kubectl(plane, ['create', 'secret', 'generic', 'kept', '-n', 'envtest-assets', '--from-literal=token=survives-restarts']);
      expect(created.code, created.stderr).to.equal(0);
      const read = await kubectl(plane, ['get', 'secret', 'kept', '-n', 'envtest-assets', '-o', 'jsonpath={.data.token}']);
      expect(read.code, read.stderr).to.equal(0);
      expect(Buffer.from(read.stdout, 'base64').toString()).to.equal('survives-restarts');
    });

    it('stop-apiserver takes the API away; start-apiserver brings it back on the same port with the same etcd data', async () => {
      const server = plane.server;
      const etcdPid = pids[0]!;
      await plane.command('stop-apiserver');
      await plane.command('stop-apiserver'); // idempotent
      expect(plane.pids()).to.deep.equal([etcdPid]);
      const down = await kubectl(plane, ['get', 'secret', 'kept', '-n', 'envtest-assets']);
      expect(down.code).not.to.equal(0);
      expect(down.stderr).to.match(/connection refused|unable to connect|was refused/i);

      await plane.command('start-apiserver');
      await plane.command('start-apiserver'); // idempotent while running
      expect(plane.server).to.equal(server);
      expect(plane.pids()).to.have.length(2).and.to.include(etcdPid);
      const read = await kubectl(plane, ['get', 'secret', 'kept', '-n', 'envtest-assets', '-o', 'jsonpath={.data.token}']);
      expect(read.code, read.stderr).to.equal(0);
      expect(Buffer.from(read.stdout, 'base64').toString()).to.equal('survives-restarts');
      pids = plane.pids();
    });

    it('compact compacts etcd up to its current revision, and again without new writes', async () => {
      await plane.command('compact');
      await plane.command('compact');
      const res = await fetch(`${plane.etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64'), revision: '1' }) });
      expect(await res.text()).to.match(/required revision has been compacted/);
    });

    it('answers stop-kcm and start-kcm with an error: envtest has no kube-controller-manager', async () => {
      for (const line of ['stop-kcm', 'start-kcm']) {
        let error: unknown;
        await plane.command(line).catch((e: unknown) => (error = e));
        expect(String(error)).to.match(/kube-controller-manager is not part of envtest's assets/);
      }
      let error: unknown;
      await plane.command('reboot').catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/unknown command/);
    });

    it('stop() kills both processes, leaves none behind and removes its directory', async () => {
      const dir = plane.dir;
      expect(processesMentioning(dir)).to.have.length(2);
      await plane.stop();
      await plane.stop(); // idempotent
      expect(plane.pids()).to.deep.equal([]);
      expect(pids.filter(alive), 'children still alive').to.deep.equal([]);
      expect(processesMentioning(dir), 'processes mentioning the directory').to.deep.equal([]);
      expect(existsSync(dir), `${dir} still exists`).to.equal(false);
      let error: unknown;
      await plane.command('compact').catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/stopped/);
    });
  });

  describe('a test process that dies without calling stop()', () => {
    // Starts a plane in a separate Node.js process, reads its pids and directory, then kills it.
    async function startInChild(): Promise<{ child: ReturnType<typeof spawn>; pids: number[]; dir: string }> {
      const script = path.join(scratch, `child-${Date.now()}.ts`);
      const moduleUrl = pathToFileURL(path.join(repoRoot, 'test/harness/envtest-assets.ts')).href;
      writeFileSync(
        script,
        `import { startEnvtestAssets } from ${JSON.stringify(moduleUrl)};\n` +
          `const plane = await startEnvtestAssets(${JSON.stringify(assets)}, { tmpRoot: ${JSON.stringify(scratch)} });\n` +
          `console.log(JSON.stringify({ pids: plane.pids(), dir: plane.dir }));\n` +
          `setInterval(() => {}, 1000);\n`,
      );
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      });
      return { child, ...(JSON.parse(line) as { pids: number[]; dir: string }) };
    }

    it('SIGTERM: its children are killed and its directory removed', async () => {
      const { child, pids, dir } = await startInChild();
      expect(pids.filter(alive)).to.have.length(2);
      const exited = new Promise((r) => child.once('exit', (_code, signal) => r(signal)));
      child.kill('SIGTERM');
      expect(await exited).to.equal('SIGTERM'); // the signal keeps its default effect
      expect(await gone(pids), `children ${pids.join(', ')} still alive`).to.equal(true);
      expect(processesMentioning(dir)).to.deep.equal([]);
      expect(existsSync(dir), `${dir} still exists`).to.equal(false);
    });

    it('SIGKILL: its children die with it (setpriv --pdeathsig)', async function () {
      if (!hasSetpriv) this.skip();
      const { child, pids, dir } = await startInChild();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      expect(await gone(pids), `children ${pids.join(', ')} still alive`).to.equal(true);
      expect(processesMentioning(dir)).to.deep.equal([]);
      rmSync(dir, { recursive: true, force: true }); // nothing could remove it: the process was killed
    });
  });
});

// The Dockerfile, checked the way a reviewer would read it, since no image can be built here (no
// container engine): Node.js 24 throughout, a non-root numeric user, no dev dependencies, an
// entrypoint that is the CLI, a build context that holds what the COPYs need and nothing else, and
// a user and ports that agree with deploy/receiver-deployment.yaml (the Deployment that serves every port).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../harness/control-plane.ts';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  /** The base with global ARG defaults substituted: what `docker build` uses without --build-arg. */
  image: string;
  /** The FROM as written, e.g. `${RUNTIME_IMAGE}`. */
  written: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions (joining continuation lines, dropping comments) and stages. */
function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return; // comments inside a continued instruction
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine });
  });
  const stages: Stage[] = [];
  // ARGs before the first FROM may parameterize the FROMs (Docker's "global" build arguments).
  const globalArgs = new Map<string, string>();
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      const image = words[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => globalArgs.get((a ?? b)!) ?? '');
      stages.push({ image, written: words[0]!, name: as >= 0 ? words[as + 1] : undefined, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push(ins);
    } else if (ins.keyword === 'ARG') {
      const [name = '', ...value] = ins.args.split('=');
      globalArgs.set(name, value.join('='));
    } else {
      throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    }
  }
  return stages;
}

/** The JSON (exec) form of ENTRYPOINT or CMD; the shell form would run under /bin/sh, which distroless lacks. */
function execForm(ins: Instruction | undefined): string[] {
  expect(ins, 'instruction missing').to.not.equal(undefined);
  const parsed = JSON.parse(ins!.args) as unknown;
  expect(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `${ins!.keyword} must be a JSON array of strings`).to.equal(true);
  return parsed as string[];
}

/** .dockerignore semantics: the last matching pattern wins, `!` re-includes, a match covers what is below it. */
function dockerignored(patterns: string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split('/')
      .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]')))
      .join('/')
      .replace(/\.\*\//g, '(.*/)?');
    if (new RegExp(`^${source}(/.*)?$`).test(file)) ignored = !negate;
  }
  return ignored;
}

const NODE_24 = /^(?:docker\.io\/(?:library\/)?)?node:24(?:[.-][\w.-]*)?(?:@sha256:[0-9a-f]{64})?$|^gcr\.io\/distroless\/nodejs24-debian\d+(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;

describe('Dockerfile', () => {
  const text = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const stages = parseDockerfile(text);
  const final = stages[stages.length - 1]!;
  const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);
  const last = (keyword: string) => finalOf(keyword).at(-1);
  const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };

  it('builds in several stages, every one on Node.js 24, the version package.json requires', () => {
    expect(stages.length).to.be.greaterThan(1);
    for (const s of stages) expect(s.image, `FROM ${s.image}`).to.match(NODE_24);
    expect(packageJson.engines.node).to.match(/>=\s*24\b/);
  });

  it('takes every base as a build argument, so that `make image` can build it without pulling', () => {
    for (const s of stages) expect(s.written, `FROM ${s.written}`).to.match(/^\$\{?[A-Z_]+\}?$/);
    const script = readFileSync(path.join(repoRoot, 'tools/image/build.sh'), 'utf8');
    for (const s of stages) expect(script).to.include(`--build-arg "${s.written.replace(/[${}]/g, '')}=`);
  });

  it('runs the final stage as a non-root numeric user', () => {
    const user = last('USER');
    expect(user, 'the final stage sets no USER, so it runs as root').to.not.equal(undefined);
    const [uid = '', gid] = user!.args.split(':');
    expect(uid, 'a numeric uid lets Kubernetes verify runAsNonRoot').to.match(/^\d+$/);
    expect(Number(uid)).to.be.greaterThan(0);
    if (gid !== undefined) expect(gid).to.match(/^\d+$/);
    // Nothing after USER switches back to root.
    const after = final.instructions.slice(final.instructions.indexOf(user!) + 1);
    expect(after.filter((i) => i.keyword === 'USER')).to.deep.equal([]);
  });

  it('installs no dev dependencies: node_modules comes from an `npm ci --omit=dev` stage, and the final stage runs no npm', () => {
    expect(finalOf('RUN').filter((r) => /\b(npm|yarn|pnpm)\b/.test(r.args))).to.deep.equal([]);
    const copies = finalOf('COPY').filter((c) => /node_modules/.test(c.args));
    expect(copies).to.have.length(1);
    const from = /--from=(\S+)/.exec(copies[0]!.args)?.[1];
    const source = stages.find((s) => s.name === from);
    expect(source, `COPY --from=${from} names no stage`).to.not.equal(undefined);
    const installs = source!.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args));
    expect(installs).to.have.length(1);
    expect(installs[0]!.args).to.match(/\bnpm ci\b/); // exactly the lock file
    expect(installs[0]!.args).to.match(/--omit=dev\b/);
    expect(source!.instructions.some((i) => i.keyword === 'ENV' && /NODE_ENV=development/.test(i.args))).to.equal(false);
  });

  it('needs nothing at run time beyond the production dependencies the image installs', () => {
    // What `npm ci --omit=dev` puts at the top of node_modules, where Node resolves src/'s imports.
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const installed = (name: string) => lock.packages[`node_modules/${name}`] !== undefined && lock.packages[`node_modules/${name}`]!.dev !== true;
    const imported = new Map<string, string>();
    for (const file of readdirSync(path.join(repoRoot, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(path.join(repoRoot, 'src', file), 'utf8');
      // Type-only imports are erased by type stripping and load nothing.
      for (const m of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^'.][^']*)'|\bimport\(\s*'([^'.][^']*)'\s*\)|^\s*import\s+'([^'.][^']*)'/gm)) {
        const specifier = m[1] ?? m[2] ?? m[3]!;
        if (specifier.startsWith('node:')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        imported.set(name, file);
      }
    }
    expect(imported.size, 'the scan found the imports').to.be.greaterThan(3);
    const missing = [...imported].filter(([name]) => !installed(name)).map(([name, file]) => `${name} (src/${file})`);
    expect(missing, 'imported by src/ but not installed by npm ci --omit=dev, so absent from the image').to.deep.equal([]);
  });

  it('starts the CLI: ENTRYPOINT is node with the package\'s bin script as tsconfig.build.json compiles it, CMD is `run`', () => {
    const entrypoint = execForm(last('ENTRYPOINT'));
    expect(path.basename(entrypoint[0]!)).to.equal('node');
    expect(execForm(last('CMD'))).to.deep.equal(['run']);
    const workdir = last('WORKDIR')!.args;
    expect(workdir).to.match(/^\//);
    // A build stage compiles src/ with tsconfig.build.json; the final stage copies its output to
    // ./lib, and the entrypoint is the bin script's compiled file there.
    const build = JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { rootDir: string; outDir: string } };
    const { rootDir, outDir } = build.compilerOptions;
    const compiles = stages.find((st) => st.instructions.some((i) => i.keyword === 'RUN' && /\btsc -p tsconfig\.build\.json\b/.test(i.args)));
    expect(compiles, 'a stage runs tsc -p tsconfig.build.json').to.not.equal(undefined);
    const copy = finalOf('COPY').find((c) => c.args.includes(`--from=${compiles!.name}`));
    const [from, to] = copy!.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    const buildDir = compiles!.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)!.args;
    expect(from?.replace(/\/$/, '')).to.equal(path.posix.join(buildDir, outDir));
    const compiledBin = path.posix.join(to!, path.posix.relative(rootDir, packageJson.bin.planasonix!).replace(/\.ts$/, '.js'));
    expect(entrypoint.slice(1)).to.deep.equal([compiledBin.replace(/^\.\//, '')]);
    // And that script is the CLI, with a `run` command (the image test runs the compiled one).
    const help = spawnSync(process.execPath, [path.join(repoRoot, packageJson.bin.planasonix!), '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^\s+planasonix run\b/m);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const patterns = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sources = stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
        .flatMap((i) => i.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1)),
    );
    expect(sources).to.include.members(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']);
    for (const s of sources) {
      expect(existsSync(path.join(repoRoot, s)), `${s} exists`).to.equal(true);
      expect(dockerignored(patterns, s.replace(/\/$/, '')), `${s} is excluded by .dockerignore`).to.equal(false);
    }
    for (const s of ['src/cli/main.ts', 'src/operator/operator.ts']) expect(dockerignored(patterns, s), s).to.equal(false);
    // What must never reach the image or the daemon: local dependencies, tests, git, secrets.
    for (const s of ['node_modules', 'node_modules/koa/package.json', '.git', 'test/unit/deploy/dockerfile.test.ts', '.tools/bin/node', '.env', 'deploy/kustomization.yaml']) {
      expect(dockerignored(patterns, s), s).to.equal(true);
    }
  });

  it('agrees with deploy/receiver-deployment.yaml on the user and the ports', () => {
    const deployment = parse(readFileSync(path.join(repoRoot, 'deploy/receiver-deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number }; containers: { args: string[]; command?: string[]; ports: { containerPort: number }[] }[] } } };
    };
    const pod = deployment.spec.template.spec;
    const [uid, gid] = last('USER')!.args.split(':');
    expect(pod.securityContext.runAsUser).to.equal(Number(uid));
    if (gid !== undefined) expect(pod.securityContext.runAsGroup).to.equal(Number(gid));
    const container = pod.containers[0]!;
    // The Deployment keeps the image's ENTRYPOINT and passes the command as args.
    expect(container.command).to.equal(undefined);
    expect(container.args[0]).to.equal(execForm(last('CMD'))[0]);
    const exposed = finalOf('EXPOSE').flatMap((e) => e.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
    expect(exposed.toSorted()).to.deep.equal(container.ports.map((p) => p.containerPort).toSorted());
  });

  describe('the .dockerignore matcher used above', () => {
    it('follows Docker\'s rules for *, ** and !', () => {
      const patterns = ['*', '!src', 'src/**/*.test.ts'];
      expect(dockerignored(patterns, 'README.md')).to.equal(true);
      expect(dockerignored(patterns, 'src')).to.equal(false);
      expect(dockerignored(patterns, 'src/a/b.ts')).to.equal(false);
      expect(dockerignored(patterns, 'src/a/b.test.ts')).to.equal(true);
      expect(dockerignored(patterns, 'src/b.test.ts')).to.equal(true);
      expect(dockerignored(['node_modules'], 'node_modules/x/y.js')).to.equal(true);
      expect(dockerignored(['node_modules'], 'src/node_modules')).to.equal(false);
    });
  });
});

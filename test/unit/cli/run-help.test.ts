// `planasonix run --help` lists the flags the top-level usage points to, from the same definitions
// as docs/configuration.md, and starts nothing.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { CONFIG_OPTIONS } from '../../../src/config/config.ts';
import { repoRoot } from '../../harness/control-plane.ts';

const exec = promisify(execFile);

describe('planasonix run --help', () => {
  it('prints every flag with its environment variable and exits 0 without starting the operator', async () => {
    // No KUBECONFIG: the operator would fail to start, so an exit 0 means it never tried.
    const { stdout } = await exec(process.execPath, [path.join(repoRoot, 'src/cli/main.ts'), 'run', '--help'], { env: { ...process.env, KUBECONFIG: '/nonexistent' }, timeout: 20_000 });
    expect(stdout).to.match(/^Usage: planasonix run \[flags\]/);
    for (const o of CONFIG_OPTIONS) expect(stdout).to.include(`${o.flag}  (${o.env}`);
  });
});

// How the tests run kubectl, helm, the CLI and shell lines: the exit code and both outputs come back,
// and a program that cannot run says why instead of failing the test with nothing to read.
import { expect } from 'chai';
import { runProgram } from '../../harness/programs.ts';

describe('runProgram', () => {
  it('returns the exit code and both outputs, without throwing on failure', async () => {
    expect(await runProgram('bash', ['-c', 'echo out; echo err >&2; exit 3'])).to.deep.equal({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('writes the input and closes standard input, so a program reading it ends', async () => {
    expect((await runProgram('bash', ['-c', 'cat; echo " end"'], { input: 'in' })).stdout).to.equal('in end\n');
    expect((await runProgram('bash', ['-c', 'cat; echo end'])).stdout).to.equal('end\n');
  });

  it('says why a program did not run or did not finish', async () => {
    const missing = await runProgram('/nonexistent/program', []);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('ENOENT');
    const killed = await runProgram('bash', ['-c', 'echo partial >&2; kill -9 $$']);
    expect(killed).to.deep.equal({ code: 1, stdout: '', stderr: 'partial\nkilled by SIGKILL\n' });
  });

  it('survives a program that exits without reading a large input', async () => {
    expect(await runProgram('true', [], { input: 'x'.repeat(4 << 20) })).to.deep.equal({ code: 0, stdout: '', stderr: '' });
  });
});

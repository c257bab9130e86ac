// The process logger's own destination, stdout, as `kubectl logs` reads it: lines are written in
// batches, so these check that a batch never waits for traffic (a quiet receiver's one line still
// shows) and that nothing pending is lost when the process exits or crashes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { runProgram } from '../../harness/programs.ts';

const loggerModule = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/observability/logger.ts')).href;
const program = (body: string) => `import { createLogger } from ${JSON.stringify(loggerModule)}; const log = createLogger(); ${body}`;

describe('logger on stdout', () => {
  it('writes a lone line within two seconds of logging it, while the process keeps running', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', program(`log.info({ n: 1 }, 'only line'); setTimeout(() => {}, 30_000);`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\n')) resolve(text);
        });
        child.once('exit', (code) => reject(new Error(`exited (${code}) before writing a line`)));
      });
      const logged = JSON.parse(line) as { time: string };
      expect(logged).to.include({ level: 'info', msg: 'only line', n: 1 });
      // The line is out long before the process ends (it would otherwise wait for 4 KiB of others).
      expect(child.exitCode, 'still running').to.equal(null);
      expect(Date.now() - Date.parse(logged.time)).to.be.below(2_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('writes every pending line when the process exits', async () => {
    const res = await runProgram(process.execPath, ['--input-type=module', '-e', program(`for (let i = 0; i < 1000; i++) log.info({ i }, 'line'); process.exit(0);`)]);
    expect(res.code).to.equal(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('writes the lines logged before an uncaught exception', async () => {
    const res = await runProgram(process.execPath, ['--input-type=module', '-e', program(`log.warn('about to fail'); setTimeout(() => { throw new Error('boom'); }, 10);`)]);
    expect(res.code).to.equal(1);
    expect(res.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['about to fail']);
  });
});

// Runs a program to its end and hands back what it printed: the one way the tests drive kubectl,
// helm, the CLI, make and shell lines as their users do.
import { execFile } from 'node:child_process';

export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ProgramOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to its standard input, which is then closed (closed at once when absent). */
  input?: string;
}

/** Never throws on a non-zero exit: the code is part of what a test checks. */
export function runProgram(program: string, args: string[], opts: ProgramOptions = {}): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { env: opts.env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
      // Never started (ENOENT), killed by a signal, or over maxBuffer: say which, for the test's message.
      const why = err.signal ? `killed by ${err.signal}` : err.message;
      resolve({ code: 1, stdout, stderr: `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}${why}\n` });
    });
    // A program that exits without reading its input makes the write fail (EPIPE); its exit code says more.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

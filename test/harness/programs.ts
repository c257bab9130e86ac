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
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

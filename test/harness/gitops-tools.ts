// The GitOps tools the tests drive as their users do: helm, Flux's kstatus and Argo CD's Lua health
// scripts, built once per machine from the Go modules tools/gitops pins (cached outside the repo).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './control-plane.ts';
import { runProgram, type ProgramResult } from './programs.ts';

let dir: string | undefined;

/** The directory holding helm, kstatus and argocd-health; builds them if their cached build is missing. */
export function gitopsToolsDir(): string {
  dir ??= execFileSync(path.join(repoRoot, 'tools/gitops/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return dir;
}

/** Runs one of the tools (helm, kstatus, argocd-health); never throws on a non-zero exit. */
export function runTool(tool: 'helm' | 'kstatus' | 'argocd-health', args: string[], input?: string, env: NodeJS.ProcessEnv = process.env): Promise<ProgramResult> {
  return runProgram(path.join(gitopsToolsDir(), tool), args, { cwd: repoRoot, env, input });
}

export interface Health {
  status: string;
  message: string;
}

/** What kstatus (Flux's health checks) and Argo CD's health script make of each object. */
export async function readHealth(objects: object[]): Promise<{ kstatus: Health[]; argocd: Health[] }> {
  const input = `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`;
  const k = await runTool('kstatus', [], input);
  if (k.code !== 0) throw new Error(`kstatus failed: ${k.stderr}`);
  const a = await runTool('argocd-health', [path.join(repoRoot, 'deploy/argocd/health.lua')], input);
  if (a.code !== 0) throw new Error(`argocd-health failed: ${a.stderr}`);
  const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Health);
  return { kstatus: lines(k.stdout), argocd: lines(a.stdout) };
}

// Mocha global fixtures: one control plane for the whole run, shared by every test file.
import { startControlPlane, type ControlPlane } from './control-plane.ts';

let plane: ControlPlane | undefined;

export async function mochaGlobalSetup(this: unknown): Promise<void> {
  plane = await startControlPlane();
  process.env.KUBECONFIG = plane.kubeconfig;
  process.env.KUBECTL = plane.kubectl;
  setControlPlane(plane);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await plane?.stop();
}

let current: ControlPlane | undefined;
function setControlPlane(p: ControlPlane): void {
  current = p;
}

/** The control plane of this test run (started by the global setup). */
export function controlPlane(): ControlPlane {
  if (!current) throw new Error('the control plane is not running (mochaGlobalSetup did not run)');
  return current;
}

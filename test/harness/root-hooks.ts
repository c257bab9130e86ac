// Mocha global fixtures: one control plane for the whole run, shared by every test file. It starts
// on first use, so a run of unit tests alone never pays for it, and stops when the run ends.
import { startControlPlane, type ControlPlane } from './control-plane.ts';

let starting: Promise<ControlPlane> | undefined;
let current: ControlPlane | undefined;

/** Starts the control plane of this test run if it is not running yet; call it from a before() hook. */
export function ensureControlPlane(): Promise<ControlPlane> {
  starting ??= startControlPlane().then((plane) => {
    current = plane;
    process.env.KUBECONFIG = plane.kubeconfig;
    process.env.KUBECTL = plane.kubectl;
    return plane;
  });
  return starting;
}

/** The running control plane; ensureControlPlane() must have completed. */
export function controlPlane(): ControlPlane {
  if (!current) throw new Error('the control plane is not running: call ensureControlPlane() in a before() hook');
  return current;
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (starting) await (await starting).stop();
}

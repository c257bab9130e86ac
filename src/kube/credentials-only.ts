// The operator uses @kubernetes/client-node for one thing: KubeConfig, which loads credentials
// (kubeconfig files, in-cluster service accounts, exec and OIDC plugins). The module that defines it
// also imports the library's generated API clients and models, thousands of modules it never calls
// on our behalf, which cost every operator process about 80 MiB of resident memory. This resolve
// hook gives that module the two generated pieces it needs (the API client configuration) instead of
// the whole set. KubeConfig behaves exactly the same; a process without the hook (the tests) simply
// loads everything.
import { registerHooks } from 'node:module';

const CONFIG_MODULE = '/@kubernetes/client-node/dist/config.js';
const GENERATED_INDEX = './gen/index.js';
const SUBSET = new URL('./client-node-generated-subset.ts', import.meta.url).href;

let registered = false;

/** Call before anything imports src/kube/client.ts (the CLI entry point does, first). */
export function loadCredentialsOnly(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === GENERATED_INDEX && context.parentURL?.endsWith(CONFIG_MODULE)) {
        return { url: SUBSET, format: 'module-typescript', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}

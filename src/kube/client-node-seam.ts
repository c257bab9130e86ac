// Every place the project reaches past @kubernetes/client-node's public API, in one module, so an
// upgrade that breaks one of them breaks here, loudly (test/unit/kube/client-node-seam.test.ts pins
// each assumption). Nothing else imports the library's dist/ files or touches its private members.
//
// What we need from the library is KubeConfig: it loads credentials (kubeconfig files, in-cluster
// service accounts, exec and OIDC plugins) and the TLS material. We send REST requests ourselves
// (src/kube/client.ts), so we reach past its public API in four places:
//
// 1. Deep imports of dist/config.js, dist/gen/http/http.js and dist/util.js instead of the package
//    root: the root loads the thousands of generated API clients and models (about 80 MiB of
//    resident memory per process) that we never call. Upstream: kubernetes-client/javascript#242
//    (split the generated code so it can be left out); a public entry point for KubeConfig alone
//    would end the need.
// 2. A resolve hook that gives dist/config.js the two generated pieces it uses (createConfiguration,
//    ServerConfiguration) instead of the whole generated index. It is registered by this module
//    before it loads the library (hence the dynamic imports below), so every process that talks to
//    the API server through src/kube/ saves the memory, with no call to remember.
// 3. applySecurityAuthentication with a generated RequestContext, the only public way to obtain the
//    headers and the undici dispatcher for the current user (2.0 has no applyToFetchOptions).
//    It builds a new dispatcher on every call, the leak class of kubernetes-client/javascript#2893;
//    client.ts keeps one pool and closes the fresh ones.
// 4. KubeConfig's private createDispatcher, replaced per instance to build undici Agents with
//    allowH2: false (speakHttp1). Upstream: an option to keep HTTP/1.1 could be offered on
//    createDispatcherOptions, which is public; see speakHttp1 for why we need it.
import { registerHooks } from 'node:module';
import type { AgentOptions } from 'node:https';
import { Agent, type Dispatcher } from 'undici';

/** The library version every assumption below was checked against (package.json pins it exactly). */
export const SEAM_CHECKED_VERSION = '2.0.1';

// ------------------------------------------------------------------ 1, 2: loading credentials only

const CONFIG_MODULE = '/@kubernetes/client-node/dist/config.js';
/** The specifier dist/config.js imports the generated index with. */
export const GENERATED_INDEX_SPECIFIER = './gen/index.js';

/** The generated pieces dist/config.js uses, as a module of re-exports (built once, when needed). */
function generatedSubsetUrl(): string {
  const configuration = import.meta.resolve('@kubernetes/client-node/dist/gen/configuration.js');
  const servers = import.meta.resolve('@kubernetes/client-node/dist/gen/servers.js');
  const source = `export { createConfiguration } from ${JSON.stringify(configuration)};\nexport { ServerConfiguration } from ${JSON.stringify(servers)};\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

let hookRegistered = false;

/** Registers the resolve hook; idempotent. Exported for the contract test only. */
export function loadCredentialsOnly(): void {
  if (hookRegistered) return;
  hookRegistered = true;
  const subset = generatedSubsetUrl();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === GENERATED_INDEX_SPECIFIER && context.parentURL?.endsWith(CONFIG_MODULE)) {
        return { url: subset, format: 'module', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}

// Before the library loads: a module that imported it earlier (the package root, in a test) has
// already loaded everything, and the hook then changes nothing.
loadCredentialsOnly();
const configModule = await import('@kubernetes/client-node/dist/config.js');
const httpModule = await import('@kubernetes/client-node/dist/gen/http/http.js');
const utilModule = await import('@kubernetes/client-node/dist/util.js');

export const KubeConfig = configModule.KubeConfig;
export type KubeConfig = InstanceType<typeof KubeConfig>;
/** Kubernetes quantities ("512Ki", "1M", "250m") as numbers, or bigints past 2^53. */
export const quantityToScalar = utilModule.quantityToScalar;
const { RequestContext, HttpMethod } = httpModule;

// ------------------------------------------------------------------ 3: authentication

export interface Authentication {
  headers: Record<string, string>;
  /** Undefined for a plain-HTTP server without TLS material. */
  dispatcher: Dispatcher | undefined;
}

/** The current user's request headers and a fresh dispatcher with the cluster's TLS material. */
export async function authenticate(config: KubeConfig, server: string): Promise<Authentication> {
  const ctx = new RequestContext(server, HttpMethod.GET);
  await config.applySecurityAuthentication(ctx);
  return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined };
}

// ------------------------------------------------------------------ 4: HTTP/1.1

type CreateDispatcher = (cluster: ReturnType<KubeConfig['getCurrentCluster']>, agentOptions: AgentOptions) => Dispatcher | undefined;

/**
 * undici 8 negotiates HTTP/2 whenever the server offers it, and its HTTP/2 client is young: under the
 * benchmark's load it crashed the operator with an unhandled "socket idle timeout" error (undici's
 * tracker holds more of that kind, nodejs/undici#5404 for one), and it carries every request and
 * watch over one connection, so one stalled connection stalls them all. Over HTTP/1.1 each watch
 * and each in-flight request has a connection of its own and a failure stays with its request.
 * KubeConfig builds the dispatcher from the kubeconfig's TLS material; only the protocol changes.
 */
export function speakHttp1(config: KubeConfig): void {
  const internals = config as unknown as { createDispatcher: CreateDispatcher };
  if (typeof internals.createDispatcher !== 'function') {
    throw new Error(`@kubernetes/client-node no longer has KubeConfig.createDispatcher (checked against ${SEAM_CHECKED_VERSION}): revisit src/kube/client-node-seam.ts`);
  }
  const original = internals.createDispatcher.bind(config);
  internals.createDispatcher = (cluster, agentOptions) => {
    const options = config.createDispatcherOptions(cluster, agentOptions);
    return options.type === 'agent' ? new Agent({ connect: options.connect, allowH2: false }) : original(cluster, agentOptions);
  };
}

// What @kubernetes/client-node's KubeConfig imports from the library's generated code, and nothing
// else: see credentials-only.ts. Both come from their own small modules, so makeApiClient still works.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';

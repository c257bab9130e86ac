// Names a request to the API server as the API server itself counts it (apiserver_request_total):
// a verb, a resource and a subresource, read from the method, the path and the watch flag. The
// operator reports its own requests this way (planasonix_kube_requests_total), so that its cost to
// the API server can be read per verb and resource, as client-go's rest_client_requests_total lets
// a Go controller's be.

export interface ApiRequest {
  /** get, list, watch, create, update, patch, delete, deletecollection; `get` for a non-resource path. */
  verb: string;
  /** The resource's plural (`pipelineruns`), or `nonresource` for paths such as /version. */
  resource: string;
  /** `status`, `token`…, or '' for the object itself. */
  subresource: string;
}

export interface ApiRequestOutcome extends ApiRequest {
  /** The HTTP status code, or `error` when no answer came (refused, reset, timed out). */
  code: string;
}

export type ApiRequestListener = (outcome: ApiRequestOutcome) => void;

// /api/v1/... (core) or /apis/GROUP/VERSION/...
const RESOURCE_PATH = /^\/(?:api\/[^/]+|apis\/[^/]+\/[^/]+)\/(.+)$/;

export function describeApiRequest(method: string, path: string, watch: boolean): ApiRequest {
  const match = RESOURCE_PATH.exec(path.split('?', 1)[0]!);
  if (!match) return { verb: 'get', resource: 'nonresource', subresource: '' };
  let segments = match[1]!.split('/');
  // namespaces/NS/RESOURCE/... is a namespaced resource; namespaces or namespaces/NAME is the Namespace itself.
  if (segments[0] === 'namespaces' && segments.length > 2) segments = segments.slice(2);
  const [resource = '', name, subresource = ''] = segments;
  return { verb: verbOf(method, name !== undefined, watch), resource, subresource };
}

function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

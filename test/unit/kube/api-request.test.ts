// How the operator names its requests to the API server in planasonix_kube_requests_total: as the
// API server's own apiserver_request_total does (verb, resource, subresource).
import { expect } from 'chai';
import { describeApiRequest } from '../../../src/kube/api-request.ts';
import { resourcePath, RESOURCES } from '../../../src/kube/resources.ts';

describe('describeApiRequest', () => {
  const cases: [method: string, path: string, watch: boolean, verb: string, resource: string, subresource: string][] = [
    ['POST', resourcePath(RESOURCES.pipelineRuns, 'team-a'), false, 'create', 'pipelineruns', ''],
    ['POST', resourcePath(RESOURCES.deliveryRecords, 'team-a'), false, 'create', 'deliveryrecords', ''],
    ['GET', resourcePath(RESOURCES.pipelineRuns, 'team-a', 'run-1'), false, 'get', 'pipelineruns', ''],
    ['GET', resourcePath(RESOURCES.pipelineRuns, 'team-a'), false, 'list', 'pipelineruns', ''],
    ['GET', resourcePath(RESOURCES.pipelineRuns), false, 'list', 'pipelineruns', ''],
    ['GET', resourcePath(RESOURCES.secrets, 'team-a'), true, 'watch', 'secrets', ''],
    ['PATCH', resourcePath(RESOURCES.pipelineRuns, 'team-a', 'run-1', 'status'), false, 'patch', 'pipelineruns', 'status'],
    ['PUT', resourcePath(RESOURCES.leases, 'kube-system', 'leader'), false, 'update', 'leases', ''],
    ['DELETE', resourcePath(RESOURCES.jobs, 'team-a', 'run-1'), false, 'delete', 'jobs', ''],
    ['DELETE', resourcePath(RESOURCES.pipelineRuns, 'team-a'), false, 'deletecollection', 'pipelineruns', ''],
    ['POST', resourcePath(RESOURCES.serviceAccounts, 'team-a', 'sa', 'token'), false, 'create', 'serviceaccounts', 'token'],
    // The Namespace object itself, by name and as a collection.
    ['GET', resourcePath(RESOURCES.namespaces, undefined, 'team-a'), false, 'get', 'namespaces', ''],
    ['GET', resourcePath(RESOURCES.namespaces), false, 'list', 'namespaces', ''],
    ['GET', '/version', false, 'get', 'nonresource', ''],
    ['GET', '/apis/planasonix.io/v1alpha1', false, 'get', 'nonresource', ''],
  ];
  for (const [method, path, watch, verb, resource, subresource] of cases) {
    it(`${method} ${path}${watch ? ' (watch)' : ''} → ${verb} ${resource}${subresource ? `/${subresource}` : ''}`, () => {
      expect(describeApiRequest(method, path, watch)).to.deep.equal({ verb, resource, subresource });
    });
  }

  it('never puts an object name or namespace into the description', () => {
    const described = JSON.stringify(describeApiRequest('GET', resourcePath(RESOURCES.secrets, 'tenant-secret-ns', 'customer-acme-signing'), false));
    expect(described).not.to.include('tenant-secret-ns');
    expect(described).not.to.include('acme');
  });
});

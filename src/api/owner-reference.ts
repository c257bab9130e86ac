// The owner reference that makes one of our resources the controller of what it creates, so that
// the garbage collector removes the created object with its owner; and the Secrets we create so.
import type { V1Secret } from '@kubernetes/client-node';
import type { OwnerReference } from './types.ts';
import { API_VERSION, LABELS, MANAGED_BY } from './constants.ts';

export function controllerReferenceTo(kind: { kind: string }, owner: { name: string; uid: string }): OwnerReference {
  return { apiVersion: API_VERSION, kind: kind.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

export interface OwnedSecretSpec {
  name: string;
  /** The resource that owns the Secret: it lives in the owner's namespace and goes with it. */
  owner: { kind: { kind: string }; name: string; namespace: string; uid: string };
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set to replace an existing Secret only over the version it was read at. */
  resourceVersion?: string;
}

/** An Opaque Secret controlled by one of our resources, labelled as ours; values as UTF-8 text. */
export function buildOwnedSecret(spec: OwnedSecretSpec, values: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: spec.name,
      namespace: spec.owner.namespace,
      ...(spec.resourceVersion ? { resourceVersion: spec.resourceVersion } : {}),
      labels: { ...spec.labels, [LABELS.managedBy]: MANAGED_BY },
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
      ownerReferences: [controllerReferenceTo(spec.owner.kind, spec.owner)],
    },
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

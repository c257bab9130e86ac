// The owner reference that makes one of our resources the controller of what it creates, so that
// the garbage collector removes the created object with its owner.
import type { OwnerReference } from './types.ts';
import { API_VERSION } from './constants.ts';

export function controllerReferenceTo(kind: { kind: string }, owner: { name: string; uid: string }): OwnerReference {
  return { apiVersion: API_VERSION, kind: kind.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

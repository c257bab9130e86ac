// Ed25519 keys for v1a signatures, checked once when configured rather than on every request.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** Parses an Ed25519 public key in PEM form; throws a clear error for anything else. */
export function parseEd25519PublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('the public key is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the public key is ${key.asymmetricKeyType ?? 'of an unknown type'}, but v1a signatures need an Ed25519 key`);
  }
  return key;
}

/** Parses an Ed25519 private key in PEM form (PKCS#8) for signing; throws a clear error for anything else. */
export function parseEd25519PrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('the private key is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")');
  }
  assertEd25519PrivateKey(key);
  return key;
}

/** Throws unless key is an Ed25519 private key. */
export function assertEd25519PrivateKey(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new Error('v1a signing needs an Ed25519 private key');
  }
}

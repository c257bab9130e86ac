import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { parseEd25519PrivateKey, parseEd25519PublicKey } from '../../../src/signing/public-key.ts';

describe('Ed25519 keys', () => {
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

  it('parses an Ed25519 public key from PEM', () => {
    const key = parseEd25519PublicKey(ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(key.equals(ed.publicKey)).to.equal(true);
  });

  it('explains what is wrong with another key type or with text that is not PEM', () => {
    expect(() => parseEd25519PublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString())).to.throw(/is rsa.*Ed25519/);
    expect(() => parseEd25519PublicKey('not a key')).to.throw(/BEGIN PUBLIC KEY/);
  });

  it('parses an Ed25519 private key for signing, and refuses others', () => {
    const key = parseEd25519PrivateKey(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(key.asymmetricKeyType).to.equal('ed25519');
    expect(() => parseEd25519PrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).to.throw(/Ed25519/);
    expect(() => parseEd25519PrivateKey('-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----')).to.throw(/not a PEM private key/);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { ValidationError } from '../../lib/core/errors.js';
import {
  SEALED_SECRET_CLUSTER_WIDE_ANNOTATION,
  SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION,
  SealingCertificate,
  SealingScope,
  seal,
  sealingScopeAnnotations,
  unseal,
} from '../../lib/project/seal.js';
import { SecretValue } from '../../lib/core/secret-value.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'sealed-secrets');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

interface Vector {
  plaintext: string;
  namespace: string;
  name: string;
  scope: 'strict' | 'namespace-wide' | 'cluster-wide';
  label: string;
  sessionKeyHex: string;
  oaepSeedHex: string;
  randomnessHex: string;
  rsaCiphertextLen: number;
  encryptedBase64: string;
  keyFingerprint: string;
}

/** sealed-secrets v0.36.6 HybridEncrypt output (see /work/shared/vectors/README.md, copied byte-identically). */
const VECTORS: Vector[] = fixture('vec4096.jsonl')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Vector);
const CERT_PEM = fixture('cert4096.pem');
const KEY_PEM = fixture('key4096.pem');
const CERT = SealingCertificate.fromPem(CERT_PEM, 'cert4096.pem');

/** A byte source that hands out `bytes` in order and records every request size. */
function replay(bytes: Buffer): { random: (n: number) => Buffer; requests: number[]; remaining: () => number } {
  let offset = 0;
  const requests: number[] = [];
  return {
    random: (n: number) => {
      requests.push(n);
      const out = bytes.subarray(offset, offset + n);
      offset += n;
      return Buffer.from(out);
    },
    requests,
    remaining: () => bytes.length - offset,
  };
}

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('seal: sealed-secrets vectors', () => {
  it('has one vector per scope', () => {
    expect(VECTORS.map((v) => v.scope).sort()).toEqual(['cluster-wide', 'namespace-wide', 'strict']);
  });

  it.each(VECTORS.map((v) => [v.scope, v] as const))(
    'GIVEN the %s vector WHEN sealed with its injected randomness THEN the output is byte-identical to kubeseal',
    (_scope, v) => {
      // GIVEN
      const source = replay(Buffer.from(v.randomnessHex, 'hex'));
      expect(v.randomnessHex).toBe(v.sessionKeyHex + v.oaepSeedHex);
      // WHEN
      const out = seal(SecretValue.fromString(v.plaintext), {
        certificate: CERT,
        namespace: v.namespace,
        name: v.name,
        scope: v.scope,
        random: source.random,
      });
      // THEN: session key first, then the OAEP seed, nothing else
      expect(out).toBe(v.encryptedBase64);
      expect(source.requests).toEqual([32, 32]);
      expect(source.remaining()).toBe(0);
      const raw = Buffer.from(out, 'base64');
      expect(raw.readUInt16BE(0)).toBe(v.rsaCiphertextLen);
      expect(raw.length).toBe(2 + v.rsaCiphertextLen + Buffer.byteLength(v.plaintext) + 16);
    },
  );

  it.each(VECTORS.map((v) => [v.scope, v] as const))(
    'GIVEN the %s vector WHEN the value is a Buffer or a SecretValue THEN the output is the same',
    (_scope, v) => {
      const opts = { certificate: CERT_PEM, namespace: v.namespace, name: v.name, scope: SealingScope.of(v.scope) };
      const asString = seal(SecretValue.fromString(v.plaintext), { ...opts, random: replay(Buffer.from(v.randomnessHex, 'hex')).random });
      const asBuffer = seal(Buffer.from(v.plaintext), { ...opts, random: replay(Buffer.from(v.randomnessHex, 'hex')).random });
      expect(asString).toBe(v.encryptedBase64);
      expect(asBuffer).toBe(v.encryptedBase64);
    },
  );

  it.each(VECTORS.map((v) => [v.scope, v] as const))(
    'GIVEN the %s vector ciphertext WHEN unsealed with key4096.pem THEN it gives the plaintext',
    (_scope, v) => {
      const out = unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: v.namespace, name: v.name, scope: v.scope });
      expect(out).toBeInstanceOf(SecretValue);
      expect(out.reveal()).toBe(v.plaintext);
    },
  );

  it('GIVEN the vectors WHEN the scope labels are computed THEN they are the vectors\' labels', () => {
    for (const v of VECTORS) {
      expect(SealingScope.of(v.scope).label(v.namespace, v.name).toString('utf8')).toBe(v.label);
    }
  });

  it('GIVEN cert4096.pem WHEN parsed THEN its fingerprint is the vectors\' keyFingerprint (ssh.FingerprintSHA256 of the public key)', () => {
    expect(CERT.fingerprint).toBe('SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g');
    for (const v of VECTORS) expect(CERT.fingerprint).toBe(v.keyFingerprint);
    expect(CERT.modulusBits).toBe(4096);
    expect(CERT.modulusBytes).toBe(512);
    expect(CERT.notAfter.toISOString()).toBe('2126-10-30T19:17:46.000Z');
  });
});

describe('SealingCertificate.fingerprint: independent cross-check with ssh-keygen', () => {
  it('GIVEN cert4096.pem WHEN its public key is fingerprinted by OpenSSH THEN ssh-keygen prints the same text', () => {
    // ssh.FingerprintSHA256 is what OpenSSH prints with `ssh-keygen -l -E sha256` (package openssh-client)
    const probe = spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' });
    if (probe.error) {
      if (process.env.CI === 'true') throw new Error('ssh-keygen is required in CI: apt-get install -y openssh-client');
      console.warn('!!! SKIPPING the ssh-keygen fingerprint cross-check: ssh-keygen not found (apt-get install -y openssh-client) !!!');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'rekey-seal-'));
    try {
      const spki = join(dir, 'pub.pem');
      writeFileSync(spki, createPublicKey(CERT_PEM).export({ type: 'spki', format: 'pem' }));
      const conv = spawnSync('ssh-keygen', ['-i', '-m', 'PKCS8', '-f', spki], { encoding: 'utf8' });
      expect(conv.status).toBe(0);
      const sshPub = join(dir, 'pub.ssh');
      writeFileSync(sshPub, conv.stdout);
      const fp = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', sshPub], { encoding: 'utf8' });
      expect(fp.status).toBe(0);
      expect(fp.stdout.split(' ')[1]).toBe(CERT.fingerprint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seal: own randomness', () => {
  const target = { namespace: 'data', name: 'spark-s3' };

  it.each(SealingScope.ALL.map((s) => [s.name, s] as const))(
    'GIVEN scope %s WHEN sealed with default randomness THEN unseal and node:crypto privateDecrypt both recover the value',
    (_name, scope) => {
      // GIVEN
      const value = SecretValue.fromString('fake-secret-key-0000000000000000000000');
      // WHEN
      const out = seal(value, { certificate: CERT, ...target, scope });
      // THEN: through unseal
      expect(unseal(out, { privateKeyPem: SecretValue.fromString(KEY_PEM), ...target, scope }).equals(value)).toBe(true);
      // THEN: directly with node:crypto, independent of lib/seal
      const raw = Buffer.from(out, 'base64');
      const rsaLen = raw.readUInt16BE(0);
      expect(rsaLen).toBe(512);
      const sessionKey = privateDecrypt(
        {
          key: createPrivateKey(KEY_PEM),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256',
          oaepLabel: scope.label(target.namespace, target.name),
        },
        raw.subarray(2, 2 + rsaLen),
      );
      expect(sessionKey.length).toBe(32);
      const body = raw.subarray(2 + rsaLen);
      const decipher = createDecipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
      expect(plain.toString('utf8')).toBe(value.reveal());
    },
  );

  it('GIVEN the same value sealed twice WHEN compared THEN the ciphertexts differ (fresh randomness each time)', () => {
    const a = seal(SecretValue.fromString('fake-value'), { certificate: CERT, ...target });
    const b = seal(SecretValue.fromString('fake-value'), { certificate: CERT, ...target });
    expect(a).not.toBe(b);
  });

  it('GIVEN an injected random source (own OAEP encoding) WHEN sealed THEN node:crypto privateDecrypt recovers the session key', () => {
    const sessionKey = Buffer.alloc(32, 0x5a);
    const source = replay(Buffer.concat([sessionKey, Buffer.alloc(32, 0xa5)]));
    const out = seal(SecretValue.fromString('fake-value'), { certificate: CERT, ...target, random: source.random });
    const raw = Buffer.from(out, 'base64');
    const recovered = privateDecrypt(
      { key: KEY_PEM, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('data/spark-s3') },
      raw.subarray(2, 514),
    );
    expect(recovered.equals(sessionKey)).toBe(true);
    expect(unseal(out, { privateKeyPem: SecretValue.fromString(KEY_PEM), ...target }).reveal()).toBe('fake-value');
  });

  it('GIVEN an empty value WHEN sealed and unsealed THEN the empty value comes back', () => {
    const out = seal(SecretValue.fromString(''), { certificate: CERT, ...target });
    expect(Buffer.from(out, 'base64').length).toBe(2 + 512 + 16);
    expect(unseal(out, { privateKeyPem: SecretValue.fromString(KEY_PEM), ...target }).length).toBe(0);
  });

  it('GIVEN a SecretValue WHEN sealed THEN the caller\'s SecretValue is intact afterwards', () => {
    const value = SecretValue.fromString('fake-intact');
    seal(value, { certificate: CERT, ...target });
    expect(value.reveal()).toBe('fake-intact');
  });
});

describe('seal: labels bind the scope', () => {
  const v = VECTORS.find((x) => x.scope === 'strict')!;
  const nsWide = VECTORS.find((x) => x.scope === 'namespace-wide')!;
  const clusterWide = VECTORS.find((x) => x.scope === 'cluster-wide')!;
  const rsaError = (where: string) =>
    `sealed value for ${where} cannot be decrypted with this private key: got an RSA-OAEP error (ERR_OSSL_RSA_OAEP_DECODING_ERROR). ` +
    "Check that it was sealed with this key's certificate for exactly this namespace, name and scope.";

  it('GIVEN a strict value WHEN unsealed for another name THEN decryption fails with the exact message', () => {
    const err = errorOf(() => unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'other', scope: 'strict' }));
    expect(err.message).toBe(rsaError('myns/other (scope strict)'));
    expect(err.code).toBe('UNSEAL_FAILED');
  });

  it('GIVEN a strict value WHEN unsealed for another namespace THEN decryption fails', () => {
    const err = errorOf(() => unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'otherns', name: 'mysecret' }));
    expect(err.message).toBe(rsaError('otherns/mysecret (scope strict)'));
  });

  it('GIVEN a namespace-wide value WHEN unsealed in another namespace or as strict THEN decryption fails; any name works', () => {
    expect(
      unseal(nsWide.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'any-name', scope: 'namespace-wide' }).reveal(),
    ).toBe('supersecret');
    expect(
      errorOf(() => unseal(nsWide.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'otherns', name: 'x', scope: 'namespace-wide' }))
        .message,
    ).toBe(rsaError('namespace otherns (scope namespace-wide)'));
    expect(
      errorOf(() => unseal(nsWide.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'mysecret', scope: 'strict' })).message,
    ).toBe(rsaError('myns/mysecret (scope strict)'));
  });

  it('GIVEN a cluster-wide value WHEN unsealed anywhere cluster-wide THEN it opens; as strict it does not', () => {
    expect(unseal(clusterWide.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: '', name: '', scope: 'cluster-wide' }).reveal()).toBe(
      'supersecret',
    );
    expect(
      errorOf(() => unseal(clusterWide.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'mysecret' })).message,
    ).toBe(rsaError('myns/mysecret (scope strict)'));
  });

  it('GIVEN a value with a flipped AES byte WHEN unsealed THEN GCM authentication fails with the exact message', () => {
    const raw = Buffer.from(v.encryptedBase64, 'base64');
    raw[raw.length - 20] ^= 0x01;
    const err = errorOf(() => unseal(raw.toString('base64'), { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'mysecret' }));
    expect(err.message).toBe(
      'sealed value for myns/mysecret (scope strict) fails AES-256-GCM authentication: got a corrupted or truncated ciphertext. Re-seal the value with kubeseal or rekey.',
    );
  });

  it('GIVEN text that is not base64 WHEN unsealed THEN the error says so', () => {
    const err = errorOf(() => unseal('not base64!', { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'mysecret' }));
    expect(err.message).toBe(
      'sealed value for myns/mysecret (scope strict) is not standard padded base64: got 11 characters. Pass the text of spec.encryptedData[key] unchanged.',
    );
  });

  it('GIVEN a truncated value WHEN unsealed THEN the error says it is too short', () => {
    const short = Buffer.from(v.encryptedBase64, 'base64').subarray(0, 100).toString('base64');
    const err = errorOf(() => unseal(short, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'myns', name: 'mysecret' }));
    expect(err.message).toBe(
      'sealed value for myns/mysecret (scope strict) is too short to be a sealed value: got 100 bytes. Pass the text of spec.encryptedData[key] unchanged.',
    );
  });

  it('GIVEN a private key that is not PEM WHEN unsealing THEN the error names the problem without echoing the key', () => {
    const err = errorOf(() =>
      unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString('fake-not-a-key-material'), namespace: 'myns', name: 'mysecret' }),
    );
    expect(err.message).toMatch(
      /^unseal private key cannot be parsed: got ERR_[A-Z0-9_]+\. Pass the controller's RSA private key as PEM \(PKCS#1 or PKCS#8\)\.$/,
    );
    expect(err.message).not.toContain('fake-not-a-key-material');
  });
});

describe('seal: no secret in error messages', () => {
  it('GIVEN every failing unseal/seal path WHEN the messages are scanned THEN no plaintext, session key or key material appears', () => {
    const v = VECTORS[0];
    const raw = Buffer.from(v.encryptedBase64, 'base64');
    raw[raw.length - 1] ^= 0xff;
    const messages = [
      errorOf(() => unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'x', name: 'y' })).message,
      errorOf(() => unseal(raw.toString('base64'), { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: v.namespace, name: v.name })).message,
      errorOf(() => unseal(v.encryptedBase64, { privateKeyPem: SecretValue.fromString('fake-private-key'), namespace: v.namespace, name: v.name })).message,
      errorOf(() => seal(SecretValue.fromString('fake-plaintext-value'), { certificate: CERT, namespace: '', name: '' })).message,
      errorOf(() => SealingCertificate.fromPem(KEY_PEM, 'key4096.pem')).message,
    ];
    const secrets = [v.plaintext, v.sessionKeyHex, 'fake-private-key', 'fake-plaintext-value', ...KEY_PEM.split('\n').slice(1, -2)];
    for (const m of messages) for (const secret of secrets) expect(m).not.toContain(secret);
  });
});

describe('SealingScope', () => {
  it('GIVEN each scope WHEN asked for annotations THEN they are kubeseal\'s', () => {
    expect(SealingScope.STRICT.annotations()).toEqual({});
    expect(SealingScope.NAMESPACE_WIDE.annotations()).toEqual({ 'sealedsecrets.bitnami.com/namespace-wide': 'true' });
    expect(SealingScope.CLUSTER_WIDE.annotations()).toEqual({ 'sealedsecrets.bitnami.com/cluster-wide': 'true' });
    expect(sealingScopeAnnotations('cluster-wide')).toEqual({ [SEALED_SECRET_CLUSTER_WIDE_ANNOTATION]: 'true' });
    expect(sealingScopeAnnotations(SealingScope.NAMESPACE_WIDE)).toEqual({ [SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION]: 'true' });
  });

  it('GIVEN annotations WHEN read back THEN the scope round-trips, cluster-wide winning as in the controller', () => {
    for (const s of SealingScope.ALL) expect(SealingScope.fromAnnotations(s.annotations())).toBe(s);
    expect(SealingScope.fromAnnotations(undefined)).toBe(SealingScope.STRICT);
    expect(
      SealingScope.fromAnnotations({ [SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION]: 'true', [SEALED_SECRET_CLUSTER_WIDE_ANNOTATION]: 'true' }),
    ).toBe(SealingScope.CLUSTER_WIDE);
  });

  it('GIVEN a name WHEN looked up THEN the same instance comes back; an unknown name fails with the exact message', () => {
    expect(SealingScope.of('strict')).toBe(SealingScope.STRICT);
    expect(String(SealingScope.of('namespace-wide'))).toBe('namespace-wide');
    expect(JSON.stringify({ scope: SealingScope.CLUSTER_WIDE })).toBe('{"scope":"cluster-wide"}');
    const err = errorOf(() => SealingScope.of('global', 'rekey.yaml credentials[0].delivery.scope'));
    expect(err.message).toBe(
      'rekey.yaml credentials[0].delivery.scope must be one of strict, namespace-wide, cluster-wide: got "global". Use one of the three kubeseal scopes.',
    );
    expect(err.code).toBe('SEALING_SCOPE_INVALID');
  });
});

describe('seal: bad input', () => {
  it('GIVEN no namespace WHEN sealing strict THEN it fails like kubeseal ("must declare a namespace")', () => {
    const err = errorOf(() => seal(SecretValue.fromString('fake'), { certificate: CERT, namespace: '', name: 'x' }));
    expect(err.message).toBe(
      'seal namespace must be set for scope strict: got "". Give the target Secret\'s namespace, or use scope cluster-wide.',
    );
  });

  it('GIVEN no name WHEN sealing strict THEN it fails; namespace-wide does not need one', () => {
    const err = errorOf(() => seal(SecretValue.fromString('fake'), { certificate: CERT, namespace: 'ns', name: '' }));
    expect(err.message).toBe('seal name must be set for scope strict: got "". Give the target Secret\'s name, or use scope namespace-wide.');
    expect(() => seal(SecretValue.fromString('fake'), { certificate: CERT, namespace: 'ns', name: '', scope: 'namespace-wide' })).not.toThrow();
  });

  it('GIVEN a random source that returns too few bytes WHEN sealing THEN it fails with the exact message', () => {
    const err = errorOf(() => seal(SecretValue.fromString('fake'), { certificate: CERT, namespace: 'ns', name: 'n', random: () => Buffer.alloc(16) }));
    expect(err.message).toBe(
      'seal random(32) for the session key must return 32 bytes: got 16 bytes. Return exactly the requested number of bytes.',
    );
  });

  it('GIVEN an unknown scope string WHEN sealing THEN it fails', () => {
    expect(() => seal(SecretValue.fromString('fake'), { certificate: CERT, namespace: 'ns', name: 'n', scope: 'wide' as never })).toThrow(
      'sealing scope must be one of strict, namespace-wide, cluster-wide: got "wide". Use one of the three kubeseal scopes.',
    );
  });
});

describe('SealingCertificate', () => {
  const HINT = "Use the sealed-secrets controller's current certificate (`kubeseal --fetch-cert > cert.pem`).";

  it('GIVEN the expected fingerprint WHEN verified THEN it passes; another fails with the exact message', () => {
    expect(() => CERT.verifyFingerprint('SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g')).not.toThrow();
    const err = errorOf(() => CERT.verifyFingerprint('SHA256:AAAAGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g'));
    expect(err.message).toBe(
      'cert4096.pem certificate fingerprint does not match the expected SHA256:AAAAGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g: ' +
        'got SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g. ' +
        "Fetch the controller's current certificate (`kubeseal --fetch-cert`), or update the pinned fingerprint if the controller's key was renewed on purpose.",
    );
    expect(err.code).toBe('SEALING_CERT_FINGERPRINT_MISMATCH');
  });

  it('GIVEN a PEM certificate string as `certificate` WHEN sealing THEN it is parsed and works', () => {
    const out = seal(SecretValue.fromString('fake'), { certificate: CERT_PEM, namespace: 'ns', name: 'n' });
    expect(unseal(out, { privateKeyPem: SecretValue.fromString(KEY_PEM), namespace: 'ns', name: 'n' }).reveal()).toBe('fake');
  });

  it('GIVEN a private key file WHEN parsed as a certificate THEN the error names the file and the block, not the key', () => {
    const err = errorOf(() => SealingCertificate.fromPem(KEY_PEM, 'secrets/controller.pem'));
    expect(err.message).toBe(`secrets/controller.pem is not a PEM X.509 certificate: got a PEM "RSA PRIVATE KEY" block. ${HINT}`);
    expect(err.message).not.toContain(KEY_PEM.split('\n')[1]);
    expect(err.code).toBe('SEALING_CERT_INVALID');
  });

  it('GIVEN a bare public key WHEN parsed THEN it is refused (kubeseal needs a certificate)', () => {
    const err = errorOf(() => SealingCertificate.fromPem(fixture('pubkey4096.pem'), 'pub.pem'));
    expect(err.message).toBe(`pub.pem is not a PEM X.509 certificate: got a PEM "PUBLIC KEY" block. ${HINT}`);
  });

  it('GIVEN text without PEM WHEN parsed THEN the error says no PEM block', () => {
    const err = errorOf(() => SealingCertificate.fromPem('hello', 'cert.pem'));
    expect(err.message).toBe(`cert.pem is not a PEM X.509 certificate: got no PEM block. ${HINT}`);
  });

  it('GIVEN a CERTIFICATE block that is not DER WHEN parsed THEN the error names the file', () => {
    const err = errorOf(() => SealingCertificate.fromPem(fixture('corrupt-cert.pem'), 'corrupt-cert.pem'));
    expect(err.message).toMatch(/^corrupt-cert\.pem is not a valid X\.509 certificate: got ERR_[A-Z0-9_]+\. /);
    expect(err.message.endsWith(HINT)).toBe(true);
  });

  it('GIVEN an EC certificate WHEN parsed THEN it is refused as non-RSA', () => {
    const err = errorOf(() => SealingCertificate.fromPem(fixture('ec-cert.pem'), 'ec-cert.pem'));
    expect(err.message).toBe(`ec-cert.pem certificate key must be RSA (sealed-secrets seals with RSA-OAEP): got ec. ${HINT}`);
  });

  it('GIVEN a 1024-bit RSA certificate WHEN parsed THEN it is refused as too small', () => {
    const err = errorOf(() => SealingCertificate.fromPem(fixture('rsa1024-cert.pem'), 'rsa1024-cert.pem'));
    expect(err.message).toBe(
      "rsa1024-cert.pem certificate RSA key must have at least 2048 bits: got 1024. Renew the controller's sealing key (sealed-secrets makes 4096-bit keys) and fetch its certificate.",
    );
  });

  it('GIVEN an expired certificate WHEN parsed THEN it is refused with its notAfter', () => {
    const err = errorOf(() => SealingCertificate.fromPem(fixture('expired-cert.pem'), 'expired-cert.pem'));
    expect(err.message).toBe(`expired-cert.pem certificate has expired: got notAfter 2021-01-01T00:00:00.000Z. ${HINT}`);
    expect(err.code).toBe('SEALING_CERT_EXPIRED');
  });

  it('GIVEN cert4096.pem WHEN checked at a time after its notAfter THEN it is refused; at notAfter it is accepted', () => {
    const err = errorOf(() => SealingCertificate.fromPem(CERT_PEM, 'cert4096.pem', { now: new Date('2126-10-30T19:17:47Z') }));
    expect(err.message).toBe(`cert4096.pem certificate has expired: got notAfter 2126-10-30T19:17:46.000Z. ${HINT}`);
    expect(() => SealingCertificate.fromPem(CERT_PEM, 'cert4096.pem', { now: new Date('2126-10-30T19:17:46Z') })).not.toThrow();
  });

  it('GIVEN a PEM bundle WHEN parsed THEN the first certificate is used, as kubeseal does', () => {
    const bundle = `# comment\n${CERT_PEM}${fixture('rsa1024-cert.pem')}`;
    expect(SealingCertificate.fromPem(bundle).fingerprint).toBe(CERT.fingerprint);
    expect(SealingCertificate.fromPem(CERT_PEM.replace(/\n/g, '\r\n')).fingerprint).toBe(CERT.fingerprint);
  });

  it('GIVEN no source WHEN a bad certificate is parsed THEN messages say "sealing certificate"', () => {
    expect(() => SealingCertificate.fromPem('x')).toThrow(`sealing certificate is not a PEM X.509 certificate: got no PEM block. ${HINT}`);
  });
});

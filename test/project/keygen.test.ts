import { describe, expect, it } from '@jest/globals';
import { drawKeyPair, randomString } from '../../lib/project/keygen.js';

describe('drawKeyPair', () => {
  it.each(['rustfs', 'minio', 'ceph-rgw'] as const)('draws a 20-character upper-case ID and a 40-character secret for %s', (kind) => {
    const a = drawKeyPair(kind);
    const b = drawKeyPair(kind);
    expect(a.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    expect(a.secretAccessKey.reveal()).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(a.accessKeyId).not.toBe(b.accessKeyId);
    expect(a.secretAccessKey.equals(b.secretAccessKey)).toBe(false);
    expect(String(a.secretAccessKey)).toBe('<redacted>');
    expect(JSON.stringify(a)).not.toContain(a.secretAccessKey.reveal());
  });

  it('refuses aws-iam, whose keys IAM draws', () => {
    expect(() => drawKeyPair('aws-iam')).toThrow('drawKeyPair provider kind aws-iam draws its own keys: got "aws-iam". Let the rotation Job create the key at the provider.');
  });

  it('uses the injected source, and rejects biased bytes instead of folding them', () => {
    // 36 symbols: bytes >= 252 would bias the modulo and must be skipped
    const bytes = [252, 253, 254, 255, 0, 1, 35, 36];
    expect(randomString('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 4, () => Buffer.from(bytes))).toBe('AB9A');
  });

  it('is uniform enough: every symbol appears over many draws', () => {
    const s = randomString('ab', 2000);
    const a = [...s].filter((c) => c === 'a').length;
    expect(a).toBeGreaterThan(850);
    expect(a).toBeLessThan(1150);
  });

  it('fails loudly on a constant unusable source instead of looping forever', () => {
    expect(() => randomString('abc', 5, (n) => Buffer.alloc(n, 255))).toThrow('randomString: the random source keeps returning unusable bytes (is it constant?)');
  });
});

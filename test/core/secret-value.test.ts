/**
 * SecretValue on every production path a secret could leak through: String(), template
 * literals, JSON.stringify, util.inspect (also with showHidden and depth), console formatting,
 * object spread, and an error's message, stack and `cause` chain.
 */
import { format, inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { ProviderError } from '../../lib/core/errors.js';
import { SecretValue } from '../../lib/core/secret-value.js';

const SECRET = 'fake-secret-value-do-not-use-0002';

describe('SecretValue', () => {
  const secret = SecretValue.fromString(SECRET);
  const pair = { accessKeyId: 'AKFAKE0002', secretAccessKey: secret };

  it('GIVEN a secret THEN reveal() and revealBytes() give the value, a copy each time', () => {
    expect(secret.reveal()).toBe(SECRET);
    const b = secret.revealBytes();
    b[0] = 0;
    expect(secret.reveal()).toBe(SECRET);
    expect(secret.length).toBe(Buffer.byteLength(SECRET));
  });

  it('GIVEN String(), a template literal and concatenation THEN <redacted>', () => {
    expect(String(secret)).toBe('<redacted>');
    expect(`${secret}`).toBe('<redacted>');
    expect('x' + secret).toBe('x<redacted>');
  });

  it('GIVEN JSON.stringify of the secret or a pair THEN <redacted>', () => {
    expect(JSON.stringify(secret)).toBe('"<redacted>"');
    expect(JSON.stringify(pair)).toBe('{"accessKeyId":"AKFAKE0002","secretAccessKey":"<redacted>"}');
  });

  it('GIVEN util.inspect (plain, showHidden, deep) and console-style format THEN no secret', () => {
    for (const text of [
      inspect(secret),
      inspect(pair),
      inspect({ a: { b: { c: { d: pair } } } }, { depth: Infinity }),
      inspect(secret, { showHidden: true, depth: Infinity }),
      inspect(pair, { showHidden: true, getters: true, depth: Infinity }),
      format('%s %o %O %j', secret, pair, pair, pair),
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(inspect(secret)).toBe('SecretValue(<redacted>)');
  });

  it('GIVEN an object spread, Object.entries or structuredClone THEN the bytes do not come along', () => {
    expect({ ...secret }).toEqual({});
    expect(Object.entries(secret)).toEqual([]);
    expect(JSON.stringify(Object.getOwnPropertyNames(secret))).not.toContain(SECRET);
  });

  it('GIVEN a ProviderError whose message and cause chain hold the secret by mistake THEN message, stack, inspect and JSON show <redacted>', () => {
    const inner = new Error(`signing with ${secret} failed`, { cause: { pair } });
    const err = new ProviderError({ provider: 'minio', operation: 'addKey', keyId: 'AKFAKE0002', message: `bad pair ${secret}: got it. Fix it.`, cause: inner });
    for (const text of [err.message, String(err.stack), inspect(err, { depth: Infinity }), JSON.stringify(err), JSON.stringify({ cause: err.cause })]) {
      expect(text).not.toContain(SECRET);
    }
    expect(err.message).toBe('minio addKey key AKFAKE0002: bad pair <redacted>: got it. Fix it.');
    expect(inspect(err, { depth: Infinity })).toContain('SecretValue(<redacted>)');
  });

  it('GIVEN two secrets THEN equals compares in constant time by value', () => {
    expect(secret.equals(SecretValue.fromString(SECRET))).toBe(true);
    expect(secret.equals(SecretValue.fromString(`${SECRET}x`))).toBe(false);
    expect(SecretValue.fromBuffer(Buffer.from(SECRET)).equals(secret)).toBe(true);
  });
});

/**
 * The provider contract itself: the closed set of error codes, and the alternating-users
 * decision every provider with `alternatingUsers` uses (planAlternate).
 */
import { describe, expect, it } from '@jest/globals';
import { ProviderError } from '../../lib/core/errors.js';
import { planAlternate } from '../../lib/providers/alternating.js';
import { PROVIDER_ERROR_CODES, isProviderError, providerError } from '../../lib/providers/provider.js';

describe('ProviderErrorCode', () => {
  it('GIVEN the closed set THEN every code is unique, upper snake case, and includes the ones the rotator decides on', () => {
    expect(new Set(PROVIDER_ERROR_CODES).size).toBe(PROVIDER_ERROR_CODES.length);
    for (const c of PROVIDER_ERROR_CODES) expect(c).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
    expect(PROVIDER_ERROR_CODES).toEqual(
      expect.arrayContaining(['UNEXPECTED_POLICY', 'KEY_EXISTS', 'WRONG_OWNER', 'UNEXPECTED_KEY', 'KEY_STATE_UNKNOWN', 'PROVIDER_TIMEOUT', 'PROVIDER_TLS', 'VERIFY_FAILED']),
    );
  });

  it('GIVEN providerError THEN a ProviderError with the contract code and the usual message prefix', () => {
    const err = providerError({ provider: 'minio', operation: 'addKey', keyId: 'AKFAKE0003', code: 'KEY_EXISTS', message: 'x: got y. Fix.' });
    expect(err).toBeInstanceOf(ProviderError);
    expect([err.code, err.message]).toEqual(['KEY_EXISTS', 'minio addKey key AKFAKE0003: x: got y. Fix.']);
    expect(isProviderError(err, 'KEY_EXISTS')).toBe(true);
    expect(isProviderError(err, 'WRONG_OWNER')).toBe(false);
    expect(isProviderError(new Error('x'))).toBe(false);
  });
});

describe('planAlternate', () => {
  const users = (a: string[], b: string[]) => [{ user: 'u-a', keyIds: a }, { user: 'u-b', keyIds: b }] as const;

  it('GIVEN no key anywhere THEN the first user gets the first key', () => {
    expect(planAlternate('p', 'u', users([], []), {}, 'NEW')).toEqual({ target: 'u-a', current: undefined, remove: [], alreadyAdded: false });
  });

  it('GIVEN the current key on b THEN a is re-keyed; its previous key (and only it) is removed', () => {
    expect(planAlternate('p', 'u', users(['OLD'], ['CUR']), { currentKeyId: 'CUR', previousKeyId: 'OLD' }, 'NEW')).toEqual({
      target: 'u-a',
      current: 'u-b',
      remove: ['OLD'],
      alreadyAdded: false,
    });
  });

  it('GIVEN a re-run after the key was added THEN alreadyAdded, nothing removed', () => {
    expect(planAlternate('p', 'u', users(['NEW'], ['CUR']), { currentKeyId: 'CUR', previousKeyId: 'OLD' }, 'NEW')).toEqual({
      target: 'u-a',
      current: 'u-b',
      remove: [],
      alreadyAdded: true,
    });
  });

  it.each([
    ['a key on the standby user that is not the previous key', users(['OTHER'], ['CUR']), { currentKeyId: 'CUR', previousKeyId: 'OLD' }, 'standby user u-a holds a key other than'],
    ['the current key on neither user', users(['OLD'], ['CUR']), { currentKeyId: 'GONE', previousKeyId: 'OLD' }, 'the current key GONE is on neither user'],
    ['keys but no current key named', users(['OLD'], []), {}, 'already holds keys but no current key was named'],
    ['the new key equal to the current key', users([], ['CUR']), { currentKeyId: 'CUR' }, 'the new key is the current key CUR'],
  ])('GIVEN %s THEN UNEXPECTED_KEY', (_name, u, opts, text) => {
    const newKey = (opts as { currentKeyId?: string }).currentKeyId === 'CUR' && text.includes('new key is') ? 'CUR' : 'NEW';
    let err: unknown;
    try {
      planAlternate('ceph-rgw', 'u', u, opts, newKey);
    } catch (e) {
      err = e;
    }
    expect(isProviderError(err, 'UNEXPECTED_KEY')).toBe(true);
    expect((err as Error).message).toContain(text);
    expect((err as Error).message).toMatch(/; nothing was changed$/);
  });
});

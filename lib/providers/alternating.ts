/**
 * The alternating-users decision, written once for every provider that offers
 * `alternatingUsers` (IAM, RGW): which user gets the new key, and which key — only ever the
 * plan's previous key — may be removed from it first. Pure: it decides from observed state and
 * the caller's expected key IDs, before any change.
 */
import type { AddKeyOptions } from './provider.js';
import { providerError } from './provider.js';

/** The keys one alternating user holds now (observed). */
export interface UserKeys {
  readonly user: string;
  readonly keyIds: readonly string[];
}

/** What addKey must do on the standby user. */
export interface AlternatePlan {
  /** The user that gets the new key (the one not holding the current key). */
  readonly target: string;
  /** The user consumers are on now (undefined on the first rotation). */
  readonly current?: string;
  /** Keys to remove from `target` first: the plan's previous key, or nothing. */
  readonly remove: readonly string[];
  /** The new key ID is already on `target` (a re-run): check its secret, change nothing. */
  readonly alreadyAdded: boolean;
}

/**
 * Decides an alternating addKey. Refuses with `UNEXPECTED_KEY`, before any change, when the
 * current key is on neither user, when keys exist but no current key was named, or when the
 * standby user holds any key other than `options.previousKeyId`.
 */
export function planAlternate(
  provider: string,
  identityName: string,
  users: readonly [UserKeys, UserKeys],
  options: AddKeyOptions,
  newKeyId: string | undefined,
): AlternatePlan {
  const got = users.map((u) => `${u.user} [${u.keyIds.join(', ')}]`).join(' and ');
  const refuse = (what: string, fix: string): never => {
    throw providerError({ provider, operation: 'addKey', keyId: newKeyId, code: 'UNEXPECTED_KEY', message: `${what}: got ${got}. ${fix}; nothing was changed` });
  };
  const { currentKeyId, previousKeyId } = options;
  if (currentKeyId !== undefined && currentKeyId === newKeyId) {
    refuse(`the new key is the current key ${currentKeyId}`, 'Pass the key consumers hold now as currentKeyId and a new pair');
  }
  const holder = currentKeyId === undefined ? undefined : users.find((u) => u.keyIds.includes(currentKeyId));
  if (currentKeyId !== undefined && holder === undefined) {
    refuse(
      `alternating identity ${identityName}: the current key ${currentKeyId} is on neither user`,
      'The plan is stale or names another identity: re-read the rotation record and pass the key consumers hold now as currentKeyId',
    );
  }
  if (currentKeyId === undefined && users.some((u) => u.keyIds.some((k) => k !== newKeyId))) {
    refuse(
      `alternating identity ${identityName} already holds keys but no current key was named`,
      'Pass the key consumers hold now as currentKeyId (and the plan\'s previous key as previousKeyId)',
    );
  }
  const target = holder === undefined ? users[0] : users[0] === holder ? users[1] : users[0];
  const alreadyAdded = newKeyId !== undefined && target.keyIds.includes(newKeyId);
  const others = target.keyIds.filter((k) => k !== previousKeyId && k !== newKeyId);
  if (others.length > 0) {
    refuse(
      `standby user ${target.user} holds ${others.length === 1 ? 'a key' : 'keys'} other than the plan's previous key ${previousKeyId ?? '(none named)'}: ${others.join(', ')}`,
      'rekey revokes only the plan\'s previous key: check which key consumers use, finish or retry the previous rotation, or pass the right previousKeyId',
    );
  }
  const remove = previousKeyId !== undefined && target.keyIds.includes(previousKeyId) ? [previousKeyId] : [];
  return { target: target.user, current: holder?.user, remove, alreadyAdded };
}

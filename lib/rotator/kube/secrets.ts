/**
 * Which access-key ID a target Secret holds.
 *
 * Decision: the DATA decides, never the `rekey.dev/access-key-id` annotation alone — an
 * annotation is copied with metadata (a hand-made copy, a Helm chart, a sealed template), so a
 * Secret can carry the new ID in its annotation and the old pair in its data. The rotator decodes
 * every access-key alias it knows (the presets: `access-key`, `root-user`, `MINIO_ROOT_USER`,
 * `RUSTFS_ACCESS_KEY`, `AWS_ACCESS_KEY_ID`, and `aws_access_key_id` in an INI `credentials`
 * key); all aliases present must hold the same ID. A custom alias set the plan does not name
 * is recognised when one data value equals the expected ID exactly (key IDs are not secret).
 * The annotation is reported next to the data; when it disagrees, the data wins and the
 * disagreement is logged.
 *
 * When the plan lists the target's keys (`PlanTarget.keys`, rendered from the credential's alias
 * sets and extra keys), those decide instead: the ID is read from exactly the keys that hold it,
 * and every listed key must be present — a Secret missing one is reported by the key's name.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { SecretValue } from '../../core/secret-value.js';
import type { PlanTargetKey } from '../../core/plan.js';
import type { KeyPair } from '../../providers/provider.js';

export const ACCESS_KEY_ID_ANNOTATION = 'rekey.dev/access-key-id';

/** The preset alias pairs: access-key name → secret-key name. */
export const ALIAS_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['access-key', 'secret-key'],
  ['root-user', 'root-password'],
  ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD'],
  ['RUSTFS_ACCESS_KEY', 'RUSTFS_SECRET_KEY'],
  ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
];

function decode(v: string | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

function iniValue(ini: string, name: string): string | undefined {
  for (const line of ini.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (m && m[1]!.toLowerCase() === name) return m[2];
  }
  return undefined;
}

/** What a Secret says about its access-key ID. */
export interface HeldKey {
  /** The ID every recognised alias holds; null when none is recognised or they disagree. */
  readonly accessKeyId: string | null;
  /** Every distinct ID found (more than one: the aliases disagree). */
  readonly ids: readonly string[];
  /** The annotation, when present. */
  readonly annotation: string | null;
  /** Keys the plan lists that the Secret's data lacks (sorted). */
  readonly missing: readonly string[];
}

/**
 * Reads the access-key ID(s) from the Secret's data: from the plan's `keys` when listed, else
 * from the preset aliases (`expected` recognises a custom alias by value).
 */
export function heldKey(secret: V1Secret, expected?: string | null, keys: readonly PlanTargetKey[] = []): HeldKey {
  const data = secret.data ?? {};
  const annotation = secret.metadata?.annotations?.[ACCESS_KEY_ID_ANNOTATION] ?? null;
  if (keys.length > 0) {
    const ids = new Set<string>();
    for (const k of keys) {
      const v = decode(data[k.name]);
      if (v === undefined) continue;
      if (k.holds === 'accessKeyId') ids.add(v.trim());
      if (k.holds === 'credentialsFile') ids.add(iniValue(v, 'aws_access_key_id') ?? '');
    }
    const list = [...ids].sort();
    const missing = keys.filter((k) => data[k.name] === undefined).map((k) => k.name).sort();
    return { accessKeyId: list.length === 1 && list[0] !== '' ? list[0]! : null, ids: list.filter((x) => x !== ''), annotation, missing };
  }
  const ids = new Set<string>();
  for (const [ak] of ALIAS_PAIRS) {
    const v = decode(data[ak]);
    if (v !== undefined) ids.add(v.trim());
  }
  const ini = decode(data['credentials']);
  if (ini !== undefined) {
    const v = iniValue(ini, 'aws_access_key_id');
    if (v !== undefined) ids.add(v);
  }
  if (ids.size === 0 && expected) {
    for (const v of Object.values(data)) if (decode(v)?.trim() === expected) ids.add(expected);
  }
  const list = [...ids].sort();
  return { accessKeyId: list.length === 1 ? list[0]! : null, ids: list, annotation, missing: [] };
}

/** Why a target Secret does not hold key `expected` in full (`<what it holds>`), or null when it does. */
export function lacksPair(held: HeldKey, accepted: (id: string) => boolean): string | null {
  if (held.accessKeyId === null || !accepted(held.accessKeyId)) return `holds access-key ID ${held.ids.join('/') || 'none recognised'}`;
  if (held.missing.length > 0) return `lacks key${held.missing.length > 1 ? 's' : ''} ${held.missing.join(', ')} (the plan lists them for this target)`;
  return null;
}

/** The full pair from a target Secret (a control key for verifyRejected): from the plan's keys when listed, else a preset alias pair. */
export function heldPair(secret: V1Secret, keys: readonly PlanTargetKey[] = []): KeyPair | undefined {
  const data = secret.data ?? {};
  const ak = keys.find((k) => k.holds === 'accessKeyId');
  const sk = keys.find((k) => k.holds === 'secretAccessKey');
  if (ak && sk && data[ak.name] !== undefined && data[sk.name] !== undefined) {
    return { accessKeyId: decode(data[ak.name])!.trim(), secretAccessKey: SecretValue.fromBuffer(Buffer.from(data[sk.name]!, 'base64')) };
  }
  const file = keys.find((k) => k.holds === 'credentialsFile');
  if (file && data[file.name] !== undefined) {
    const ini = decode(data[file.name])!;
    const id = iniValue(ini, 'aws_access_key_id');
    const secretKey = iniValue(ini, 'aws_secret_access_key');
    if (id && secretKey) return { accessKeyId: id, secretAccessKey: SecretValue.fromString(secretKey) };
  }
  for (const [ak, sk] of ALIAS_PAIRS) {
    const id = decode(data[ak]);
    const s = data[sk];
    if (id !== undefined && s !== undefined) return { accessKeyId: id.trim(), secretAccessKey: SecretValue.fromBuffer(Buffer.from(s, 'base64')) };
  }
  const ini = decode(data['credentials']);
  if (ini !== undefined) {
    const id = iniValue(ini, 'aws_access_key_id');
    const s = iniValue(ini, 'aws_secret_access_key');
    if (id && s) return { accessKeyId: id, secretAccessKey: SecretValue.fromString(s) };
  }
  return undefined;
}

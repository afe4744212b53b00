import type { Construct } from 'constructs';
import type { AliasSet } from '../../core/alias-set.js';
import type { SealingScopeName } from '../../core/sealing-scope.js';
import type { LedgerEntry, LedgerTarget } from '../../project/ledger.js';
import type { CsiSettings } from './csi.js';

/** A target Secret as a credential knows it. */
export interface TargetRef {
  readonly namespace: string;
  readonly secretName: string;
}

/** What a delivery needs to render one target Secret. */
export interface TargetRenderContext {
  readonly credential: string;
  readonly target: TargetRef;
  readonly entry: LedgerEntry;
  /** The ledger's record of the target (checked with `checkRecord` first). */
  readonly record: LedgerTarget;
  readonly aliases: readonly AliasSet[];
  readonly extraKeys: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Prints the plain-delivery warning once per credential. */
  readonly warnPlain: () => void;
}

/** What a delivery needs to render the rotator's staging Secret (the new pair, for the activate Job). */
export interface StagingRenderContext {
  readonly credential: string;
  readonly entry: LedgerEntry;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** An External Secrets Operator store (`external-secrets.io/v1`), by reference. */
export interface StoreRef {
  readonly kind: 'SecretStore' | 'ClusterSecretStore';
  readonly name: string;
  /**
   * Whether the store accepts writes (a PushSecret). rekey cannot look the store up (no
   * cluster lookup at synthesis), so the spec says it: a store whose provider is read-only in
   * External Secrets (e.g. the webhook provider), or whose credentials may only read, is
   * declared `acceptsPush: false`, and a credential whose keys are obtained in the cluster and
   * pushed there is refused.
   * @default true
   */
  readonly acceptsPush?: boolean;
}

/** The per-target object the deliver step may patch to force a refresh (named like the target Secret, in its namespace). */
export interface RefreshTarget {
  readonly apiGroup: string;
  /** Plural resource name, e.g. `externalsecrets`. */
  readonly resource: string;
}

/**
 * Where a store-held delivery (`external`, `csi`) keeps the pair its targets pull: one remote
 * key with one property per half. A delivery that has one never carries key material in git:
 * the activate Job obtains the pair in the cluster (plan `keySource: providerDrawn`), writes the
 * staging Secret, and a per-generation PushSecret pushes that Secret to `store` under
 * `remoteKey` (properties `accessKeyId` / `secretAccessKey`).
 */
export interface RemotePair {
  readonly store: StoreRef;
  readonly remoteKey: string;
  readonly properties: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** One problem with a ledger entry against the declared delivery; the caller adds where and the fix. */
export interface LedgerMismatch {
  /** Ledger field, relative to the credential's entry (e.g. `certificateFingerprint`). */
  readonly field: string;
  readonly what: string;
  readonly value: unknown;
  /** Another way to fix it than rotating, e.g. `add … to sealing.previousFingerprints`. @default - rotating is the only fix */
  readonly otherFix?: string;
}

/**
 * One kind of delivery: how a target Secret reaches the cluster. `Delivery` wraps exactly one
 * of these; nothing else in rekey branches on the delivery kind.
 */
export interface DeliveryKind {
  readonly kind: 'sealed' | 'plain' | 'external' | 'csi';
  /** The sealing scope (sealed only). */
  readonly scope?: SealingScopeName;
  /** Store-held deliveries only (external, csi): where the targets pull the pair from. */
  readonly remote?: RemotePair;
  /** csi only: the driver settings consumers (the CSI volume they mount) and the retire step (its waits) depend on. */
  readonly csi?: CsiSettings;
  /**
   * The object per target the deliver step may patch (annotation `force-sync`) to make the
   * operator fetch again; its RBAC allows `get`/`patch` on it by name in each target namespace.
   * @default - none: nothing to nudge
   */
  readonly refreshTarget?: RefreshTarget;
  /**
   * Problems between this delivery and the credential's Secret keys (e.g. a template that would
   * replace an alias key), as `[field path under delivery, what, value, fix]`, or none.
   */
  keyProblem?(secretKeys: readonly string[], extraKeys: Readonly<Record<string, string>>): { field: (string | number)[]; what: string; value: unknown; fix: string } | undefined;
  /** Problems with the chart-wide settings this delivery needs (a certificate fingerprint), or none. */
  chartProblem(fingerprint: string | undefined): string | undefined;
  /**
   * A mismatch between a credential's ledger entry and this delivery, or none. `fingerprint`
   * is the chart's sealing certificate, `previousFingerprints` the earlier ones still trusted.
   */
  entryMismatch(entry: LedgerEntry, fingerprint: string | undefined, previousFingerprints?: readonly string[]): LedgerMismatch | undefined;
  /** A mismatch between a target's ledger record and this delivery, or none. */
  recordMismatch(record: LedgerTarget, aliases: readonly AliasSet[]): LedgerMismatch | undefined;
  /** What a target delivers, for the consumer checksum: ciphertexts or a marker, never a plaintext. */
  material(target: TargetRef, record: LedgerTarget): Record<string, string>;
  renderTarget(scope: Construct, ctx: TargetRenderContext): void;
  /** Renders the staging Secret of a pair drawn before the merge. Not called when `remote` is set: the activate Job writes it in the cluster. */
  renderStaging(scope: Construct, ctx: StagingRenderContext): void;
}

/** Keys sorted, for byte-stable output. */
export function sortKeys<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

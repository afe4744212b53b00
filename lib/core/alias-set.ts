import { SecretValue } from './secret-value.js';
import { ValidationError } from './errors.js';

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The key names a consumer expects for the same access-key/secret-key pair.
 *
 * Every alias of a credential holds the identical value, by construction: rekey seals
 * the pair once per target and writes the same ciphertext under every alias key.
 */
export class AliasSet {
  /** `access-key` / `secret-key`. */
  public static generic(): AliasSet {
    return new AliasSet('generic', { accessKey: 'access-key', secretKey: 'secret-key' });
  }

  /** `root-user` / `root-password` (the MinIO / RustFS Helm charts' existingSecret keys). */
  public static minioRoot(): AliasSet {
    return new AliasSet('minio-root', { accessKey: 'root-user', secretKey: 'root-password' });
  }

  /** `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD`. */
  public static minioEnv(): AliasSet {
    return new AliasSet('minio-env', { accessKey: 'MINIO_ROOT_USER', secretKey: 'MINIO_ROOT_PASSWORD' });
  }

  /** `RUSTFS_ACCESS_KEY` / `RUSTFS_SECRET_KEY`. */
  public static rustfs(): AliasSet {
    return new AliasSet('rustfs', { accessKey: 'RUSTFS_ACCESS_KEY', secretKey: 'RUSTFS_SECRET_KEY' });
  }

  /** `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. */
  public static aws(): AliasSet {
    return new AliasSet('aws', { accessKey: 'AWS_ACCESS_KEY_ID', secretKey: 'AWS_SECRET_ACCESS_KEY' });
  }

  /**
   * One key holding an AWS shared-credentials INI file (`[default]` profile).
   * @param key the Secret key. @default 'credentials'
   * @param profile the profile name. @default 'default'
   */
  public static awsCredentialsFile(options: { readonly key?: string; readonly profile?: string } = {}): AliasSet {
    const key = options.key ?? 'credentials';
    const profile = options.profile ?? 'default';
    checkKey(key, 'AliasSet.awsCredentialsFile key');
    if (!/^[A-Za-z0-9_.-]+$/.test(profile)) {
      throw new ValidationError(`AliasSet.awsCredentialsFile profile is not a valid profile name: got ${JSON.stringify(profile)}. Use letters, digits, '_', '-' and '.'.`);
    }
    return new AliasSet('aws-credentials-file', { credentialsFile: key, profile });
  }

  /** A custom pair of key names. */
  public static custom(accessKey: string, secretKey: string): AliasSet {
    checkKey(accessKey, 'AliasSet.custom accessKey');
    checkKey(secretKey, 'AliasSet.custom secretKey');
    if (accessKey === secretKey) {
      throw new ValidationError(`AliasSet.custom secretKey clashes with accessKey: got ${JSON.stringify(secretKey)}. Give the two keys different names.`);
    }
    return new AliasSet(`custom:${accessKey}/${secretKey}`, { accessKey, secretKey });
  }

  /** A preset by its spec name (`generic`, `minio-root`, …). */
  public static preset(name: string): AliasSet {
    const p = ALIAS_PRESETS[name];
    if (!p) {
      throw new ValidationError(`AliasSet.preset name is not a preset: got ${JSON.stringify(name)}. Use one of ${Object.keys(ALIAS_PRESETS).join(', ')}.`);
    }
    return p;
  }

  /** Spec name of the set (`generic`, `rustfs`, `custom:<a>/<b>`, …). */
  public readonly name: string;
  /** Key of the access-key ID, unless this is a credentials-file set. */
  public readonly accessKey?: string;
  /** Key of the secret, unless this is a credentials-file set. */
  public readonly secretKey?: string;
  /** Key of the INI file, for `aws-credentials-file`. */
  public readonly credentialsFile?: string;
  /** Profile in the INI file. */
  public readonly profile?: string;

  private constructor(
    name: string,
    keys: { accessKey?: string; secretKey?: string; credentialsFile?: string; profile?: string },
  ) {
    this.name = name;
    this.accessKey = keys.accessKey;
    this.secretKey = keys.secretKey;
    this.credentialsFile = keys.credentialsFile;
    this.profile = keys.profile;
  }

  /** True for a custom pair (`AliasSet.custom`), false for a preset. */
  public get custom(): boolean {
    return this.name.startsWith('custom:');
  }

  /** Every Secret key name this set writes. */
  public keys(): string[] {
    return this.credentialsFile ? [this.credentialsFile] : [this.accessKey!, this.secretKey!];
  }
}

/** Presets by spec name. */
export const ALIAS_PRESETS: Readonly<Record<string, AliasSet>> = {
  generic: AliasSet.generic(),
  'minio-root': AliasSet.minioRoot(),
  'minio-env': AliasSet.minioEnv(),
  rustfs: AliasSet.rustfs(),
  aws: AliasSet.aws(),
  'aws-credentials-file': AliasSet.awsCredentialsFile(),
};

function checkKey(key: string, where: string): void {
  if (!SECRET_KEY.test(key) || key.length > 253) {
    throw new ValidationError(`${where} is not a valid Secret key name: got ${JSON.stringify(key)}. Use letters, digits, '-', '_' and '.'.`);
  }
}

/** An AWS shared-credentials file for one profile (the `aws-credentials-file` alias): secret material in, secret material out. */
export function credentialsIni(profile: string, accessKeyId: string, secret: SecretValue): SecretValue {
  return SecretValue.fromString(`[${profile}]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secret.reveal()}\n`);
}

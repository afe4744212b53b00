export * from './core/alias-set.js';
export * from './core/checksum.js';
export * from './constructs/credential.js';
export * from './constructs/deliveries/delivery.js';
export * from './core/errors.js';
export * from './project/keygen.js';
export * from './project/ledger.js';
export * from './core/log.js';
export * from './constructs/provider.js';
export * from './constructs/rekey-chart.js';
export * from './project/rotate.js';
export * from './constructs/rotation-policy.js';
export * from './project/seal.js';
export * from './core/secret-value.js';
export * from './project/spec.js';
export * from './project/spec-app.js';
export * from './project/synth.js';
export * from './constructs/workload.js';
export * from './cli/commands/check.js';
export * from './cli/commands/status.js';
export { runCli, type CliIo } from './cli/index.js';
export type * from './providers/provider.js';
export * as madmin from './providers/minio/madmin.js';
export { MadminAlgorithm, MadminCryptoError, type EncryptDataOptions } from './providers/minio/madmin.js';
export {
  MinioAdminClient,
  MINIO_ADMIN_PREFIX,
  type MinioAdminClientProps,
  type MinioUserInfo,
  type MinioServiceAccountInfo,
  type AdminHttpRequest,
  type AdminHttpResponse,
  type AdminTransport,
  type CallContext,
} from './providers/minio/client.js';
export { RgwAdminClient, RGW_UNSUPPORTED, type RgwAdminClientProps, type RgwUser, type RgwCreateUserOptions } from './providers/ceph-rgw/client.js';
export {
  AwsIamClient,
  AWS_IAM_MAX_KEYS_PER_USER,
  AWS_IAM_DEFAULT_ENDPOINT,
  addKeyToAlternateUser,
  alternateUser,
  alternatingUserNames,
  type AwsIamClientProps,
  type AwsIamConnection,
  type AlternatingKeyResult,
} from './providers/aws-iam/client.js';
export {
  verifyAccepted,
  verifyRejected,
  observeKey,
  classify,
  DEFAULT_REJECTION_CODES,
  type VerifyConnection,
  type VerifyOptions,
  type VerifyResult,
  type Observation,
} from './providers/s3/verify.js';

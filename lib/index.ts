export * from './alias-set.js';
export * from './checksum.js';
export * from './credential.js';
export * from './delivery.js';
export * from './errors.js';
export * from './keygen.js';
export * from './ledger.js';
export * from './log.js';
export * from './provider.js';
export * from './rekey-chart.js';
export * from './rotate.js';
export * from './rotation-policy.js';
export * from './seal.js';
export * from './secret-value.js';
export * from './spec.js';
export * from './spec-app.js';
export * from './synth.js';
export * from './workload.js';
export * from './cli/check.js';
export * from './cli/status.js';
export { runCli, type CliIo } from './cli/index.js';
export type * from './providers/provider.js';
export * as madmin from './providers/madmin.js';
export { MadminAlgorithm, MadminCryptoError, type EncryptDataOptions } from './providers/madmin.js';
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
} from './providers/minio.js';
export { RgwAdminClient, RGW_UNSUPPORTED, type RgwAdminClientProps, type RgwUser, type RgwCreateUserOptions } from './providers/rgw.js';
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
} from './providers/iam.js';
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
} from './providers/verify.js';

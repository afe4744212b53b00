// `cdk8s-rekey/providers`: the provider clients the rotation Jobs use, for tools of your own
// (the rotator bundles them itself). Kept apart from the main entry point: they load the AWS SDK.
export type * from './provider.js';
export { PROVIDER_ERROR_CODES, isProviderError } from './provider.js';
export * as madmin from './minio/madmin.js';
export { MadminAlgorithm, MadminCryptoError, MadminCipher, type EncryptDataOptions, type MadminCipherOptions } from './minio/madmin.js';
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
} from './minio/client.js';
export { RgwAdminClient, RGW_UNSUPPORTED, type RgwAdminClientProps, type RgwUser, type RgwCreateUserOptions } from './ceph-rgw/client.js';
export {
  AwsIamClient,
  AWS_IAM_MAX_KEYS_PER_USER,
  AWS_IAM_DEFAULT_ENDPOINT,
  alternateUser,
  alternatingUserNames,
  type AwsIamClientProps,
  type AwsIamConnection,
} from './aws-iam/client.js';
export {
  verifyAccepted,
  verifyRejected,
  observeKey,
  classify,
  DEFAULT_REJECTION_CODES,
  S3ClientPool,
  rejectionCodesFor,
  type VerifyRejectedOptions,
  type VerifyConnection,
  type VerifyOptions,
  type VerifyResult,
  type Observation,
} from './s3/verify.js';

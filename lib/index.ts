// The public API of cdk8s-rekey. CLI internals, test helpers, file-system plumbing and error
// formatters stay out of it.

// core: errors, secrets, logging, closed sets, the model
export { ExitCode, RekeyError, ValidationError, FieldError, ProviderError, type Problem, type FieldPath } from './core/errors.js';
export { SecretValue } from './core/secret-value.js';
export { JsonLineLogger, type Logger, type LogFields } from './core/log.js';
export { AliasSet, ALIAS_PRESETS, credentialsIni } from './core/alias-set.js';
export { checksumAnnotation, consumerChecksum, type ChecksumInput } from './core/checksum.js';
export { SealingScope, type SealingScopeName } from './core/sealing-scope.js';
export {
  MODEL_API_VERSION,
  MODEL_KIND,
  parseModel,
  type RekeyModel,
  type CredentialModel,
  type ProviderModel,
  type ConsumerModel,
  type AliasModel,
  type ModelSource,
} from './core/model.js';
export {
  parsePlan,
  parsePlanText,
  renderPlan,
  PLAN_API_VERSION,
  PLAN_KIND,
  DEFAULT_DEADLINES,
  DEFAULT_LEASE,
  type RotationPlan,
  type RotationPlanInput,
  type PlanCsi,
  type PlanLease,
  type PlanTargetKey,
} from './core/plan.js';

// constructs
export {
  Credential,
  type CredentialProps,
  type ConsumerOptions,
  type ConsumerBinding,
  type IdentityOptions,
  type TargetOptions,
} from './constructs/credential.js';
export { Provider, type ProviderProps, type AdminCredentialRef, type ProviderNetworkPolicyOptions, type ProviderEgressOptions } from './constructs/provider.js';
export {
  Delivery,
  DEFAULT_REMOTE_PROPERTIES,
  type SealedDeliveryOptions,
  type PlainDeliveryOptions,
  type ExternalDeliveryOptions,
  type CsiDeliveryOptions,
  type RemoteProperties,
} from './constructs/deliveries/delivery.js';
export type { StoreRef, RemotePair } from './constructs/deliveries/delivery-kind.js';
export { CSI_PROVIDERS, DEFAULT_ROTATION_POLL_INTERVAL_SECONDS, type CsiProviderName, type CsiSettings } from './constructs/deliveries/csi.js';
export { RotationPolicy, type RotationPolicyOptions, type TimeBasedRotationOptions } from './constructs/rotation-policy.js';
export { Workload, type IWorkload, type WorkloadKind, type ExternalWorkloadOptions, type SecretRead } from './constructs/workload.js';
export { RekeyChart, type RekeyChartProps, type SealingOptions, type ILedger } from './constructs/rekey-chart.js';
export { GitOps, type ArgoCdOptions, type ArgoCdApplicationOptions, type FluxOptions } from './constructs/gitops/gitops.js';
export { Stage } from './constructs/gitops/stage.js';
export { type RotatorOptions, type RotatorDeadlines, type RotatorLeaseOptions, type ApiServerOptions, DEFAULT_ROTATOR_IMAGE } from './constructs/rotation/rotator-options.js';
export { type RotatorBundleSource } from './constructs/rotation/bundle.js';
export { type RotationStep } from './constructs/rotation/job.js';

// project: the app, the spec, the ledger, sealing
export { RekeyApp, runApp, type RekeyAppProps } from './project/app.js';
export { loadSpecChart, chartFromSpec, SpecChart, type SpecChartOptions } from './project/spec-app.js';
export { parseSpec, loadSpec, validateSpec, specJsonSchema, SPEC_API_VERSION, SPEC_KIND, type RekeySpec } from './project/spec.js';
export { Ledger, type LedgerEntry, type LedgerTarget, type SealedMaterial } from './project/ledger.js';
export { seal, SealingCertificate, type SealOptions, type SealingCertificateOptions } from './project/seal.js';
export { drawKeyPair, type RandomSource } from './project/keygen.js';

// providers: the provider contract's types and error codes. The clients the rotation Jobs use
// (MinIO/RustFS, Ceph RGW, AWS IAM, S3 verification) are in `cdk8s-rekey/providers`, so an app
// that only renders does not load the AWS SDK.
export type * from './providers/provider.js';
export { PROVIDER_ERROR_CODES, isProviderError } from './providers/provider.js';

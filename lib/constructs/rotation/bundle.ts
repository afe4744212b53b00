import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ValidationError } from '../../core/errors.js';
import type { RotatorBundle } from '../../project/rotator-bundle.js';

/**
 * Where the rotator bundle comes from and how it is laid out in the pod. `RekeyApp` hands
 * every RekeyChart the project's (`rotatorBundle()` and the constants of
 * lib/project/rotator-bundle.ts): the constructs never load it themselves, so they stay free
 * of the file system and of esbuild.
 */
export interface RotatorBundleSource {
  /** The bundle (built or read on first call; memoized by the caller). */
  readonly load: () => RotatorBundle;
  /** The init container's `node -e` script (checks the SHA-256, gunzips into the emptyDir). */
  readonly unpackScript: string;
  /** Key of the gzipped bundle in binaryData, e.g. `rotator.mjs.gz`. */
  readonly key: string;
  /** Where the bundle ConfigMap is mounted in the init container, e.g. `/etc/rekey/bundle`. */
  readonly mountPath: string;
  /** The unpacked bundle, e.g. `/rotator/rotator.mjs` (its folder is the emptyDir). */
  readonly path: string;
}

/** The context key under which RekeyApp hands its RotatorBundleSource to every RekeyChart. */
export const ROTATOR_BUNDLE_CONTEXT = 'rekey:rotator-bundle';
/** Name of the bundle ConfigMap in the rotator namespace. */
export const BUNDLE_CONFIGMAP = 'rekey-rotator-bundle';
/** Annotation with the SHA-256 of the decoded bundle (a rekey upgrade shows in the diff). */
export const BUNDLE_SHA_ANNOTATION = 'rekey.dev/rotator-sha256';

/** The bundle, or an error saying where to get one. */
export function loadBundle(source: RotatorBundleSource | undefined, where: string): RotatorBundle {
  if (!source) {
    throw new ValidationError(
      `${where} rotatorBundle is required to render rotation Jobs on the stock Node image: got nothing. Build the chart inside a RekeyApp (it provides the bundle), pass rotatorBundle, or set rotator.image to an image built from the project's Dockerfile.`,
    );
  }
  return source.load();
}

/**
 * The rotator bundle ConfigMap: the gzipped bundle in `binaryData`, its SHA-256 as an
 * annotation. One per RekeyChart (the rotator namespace), not per credential.
 */
export function renderBundleConfigMap(scope: Construct, namespace: string, source: RotatorBundleSource, bundle: RotatorBundle, labels: Record<string, string>, annotations: Record<string, string>): k8s.KubeConfigMap {
  return new k8s.KubeConfigMap(scope, 'rotator-bundle', {
    metadata: {
      name: BUNDLE_CONFIGMAP,
      namespace,
      labels,
      annotations: {
        [BUNDLE_SHA_ANNOTATION]: bundle.sha256,
        'rekey.dev/rotator-bytes': `${bundle.rawBytes} decoded, ${bundle.gzipBytes} gzipped`,
        ...annotations,
      },
    },
    binaryData: { [source.key]: bundle.gzip.toString('base64') },
  });
}

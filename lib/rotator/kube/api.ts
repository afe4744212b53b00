/**
 * The rotator's thin typed layer over `@kubernetes/client-node` 1.4: the API clients, one error
 * classification, and the one way to write (observe → write → on a lost reply observe again).
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

/** Builds the KubeConfig: `KUBECONFIG` when set (tests, local runs), else the in-cluster service account. */
export function loadKubeConfig(env: Readonly<Record<string, string | undefined>>): KubeConfig {
  const kc = new KubeConfig();
  const file = env['KUBECONFIG'];
  if (file) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}

/** The API clients the rotator uses. */
export class KubeSide {
  public readonly core: CoreV1Api;
  public readonly apps: AppsV1Api;
  public readonly batch: BatchV1Api;
  public readonly coordination: CoordinationV1Api;
  public readonly custom: CustomObjectsApi;

  public constructor(public readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }
}

/**
 * The options for a JSON merge patch. client-node 1.x sends `application/json-patch+json` by
 * default (the first type of its list), which a real API server rejects for an object body:
 * every merge patch goes through this.
 */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a client-node error (`ApiException.code`), or undefined for a transport error. */
export function httpStatus(e: unknown): number | undefined {
  if (e !== null && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'number') return (e as { code: number }).code;
  return undefined;
}

export const isNotFound = (e: unknown): boolean => httpStatus(e) === 404;
export const isConflict = (e: unknown): boolean => httpStatus(e) === 409;
export const isTooManyRequests = (e: unknown): boolean => httpStatus(e) === 429;

/**
 * The write may or may not have been applied: no answer (socket hang-up, reset, refused), a
 * 5xx, 504 Timeout or 429 from a busy server. The caller observes again before retrying.
 */
export function isTransient(e: unknown): boolean {
  const s = httpStatus(e);
  return s === undefined || s >= 500 || s === 429 || s === 408;
}

/** One short line describing a client-node error (status, reason, message of the Status body). */
export function describeKubeError(e: unknown): string {
  const s = httpStatus(e);
  if (s === undefined) return `no answer (${e instanceof Error ? e.message : String(e)})`;
  const body = (e as { body?: unknown }).body;
  let message = '';
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string; reason?: string };
      message = [status.reason, status.message].filter(Boolean).join(': ');
    } catch {
      message = body.slice(0, 200);
    }
  }
  return `HTTP ${s}${message ? ` ${message.replace(/[.\s]+$/, '')}` : ''}`;
}

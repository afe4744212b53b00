import { ApiObject, type GroupVersionKind } from 'cdk8s';
import type { Construct } from 'constructs';

/**
 * An object of an L1 kind (`k8s.KubeRole.GVK`, `SealedSecret.GVK`, …) from props typed by that L1
 * class but holding plain JSON only (no IntOrString, no Quantity). The output is the L1 class's:
 * cdk8s sorts the keys either way, and the L1 kinds rekey renders this way list their fields in
 * that order. What it saves is the L1 class converting the whole resolved object field by field
 * into a second copy — per credential, the larger part of rendering its objects.
 */
export function jsonObject<P extends { readonly metadata?: object }>(scope: Construct, id: string, gvk: GroupVersionKind, props: P): ApiObject {
  return new ApiObject(scope, id, { ...gvk, ...(props as Record<string, unknown>) });
}

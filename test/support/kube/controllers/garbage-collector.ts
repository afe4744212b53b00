/**
 * A minimal garbage collector: an object whose every owner reference points at an object that no
 * longer exists (same uid) is deleted (background propagation; pods go through graceful
 * deletion). Not modelled: foreground deletion, orphan propagation, blockOwnerDeletion, finalizers.
 */
import { RESOURCES, resourceForKind } from '../resources.js';
import type { Controller, ControllerContext } from './controller.js';

export class GarbageCollector implements Controller {
  public readonly name = 'garbage-collector';

  public step({ registry }: ControllerContext): void {
    for (const def of RESOURCES) {
      for (const o of registry.list(def)) {
        const refs = o.metadata.ownerReferences ?? [];
        if (refs.length === 0 || o.metadata.deletionTimestamp) continue;
        const alive = refs.some((r) => {
          let ownerDef;
          try {
            ownerDef = resourceForKind(r.apiVersion, r.kind);
          } catch {
            return true; // an owner kind the fake does not serve: leave the object alone
          }
          const owner = registry.find(ownerDef, ownerDef.namespaced ? o.metadata.namespace : undefined, r.name);
          return owner !== undefined && owner.metadata.uid === r.uid;
        });
        if (!alive) registry.delete(def, o.metadata.namespace, o.metadata.name ?? '');
      }
    }
  }
}

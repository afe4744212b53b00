import type { Step } from '../context.js';
import { notImplemented } from './not-implemented.js';

/**
 * deliver: wait until every target Secret in the cluster holds the new access-key ID, or
 * fail at `deadlines.deliverSeconds` naming the target. Not carried out by this release.
 */
export const deliver: Step = (ctx) => notImplemented(ctx);

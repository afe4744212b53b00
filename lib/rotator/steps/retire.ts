import type { Step } from '../context.js';
import { notImplemented } from './not-implemented.js';

/**
 * retire: wait until no live consumer pod may hold the old key (rollouts, stale pod
 * replacement, the kubelet refresh bound, overlapSeconds after activation), then disable,
 * prove rejected and delete the old key, recording the evidence. Not carried out by this release.
 */
export const retire: Step = (ctx) => notImplemented(ctx);

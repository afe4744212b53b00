import type { Step } from '../context.js';
import { notImplemented } from './not-implemented.js';

/**
 * revoke (panic): activate the new key and revoke the old one at once, with no overlap;
 * the record lists the consumer pods still stale. Not carried out by this release.
 */
export const revoke: Step = (ctx) => notImplemented(ctx);

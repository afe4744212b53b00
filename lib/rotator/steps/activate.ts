import type { Step } from '../context.js';
import { notImplemented } from './not-implemented.js';

/**
 * activate: ensure the identity and its policy; add the new key while the old one stays
 * valid; verify it with real S3 calls until accepted or `deadlines.activateSeconds`; write the record.
 * Not carried out by this release.
 */
export const activate: Step = (ctx) => notImplemented(ctx);

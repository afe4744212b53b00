import type { StepTable } from '../context.js';
import { activate } from './activate.js';
import { deliver } from './deliver.js';
import { retire } from './retire.js';
import { revoke } from './revoke.js';

/** The dispatch table. */
export const STEPS: StepTable = Object.freeze({ activate, deliver, retire, revoke });

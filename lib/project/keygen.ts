/** Key drawing lives in lib/core/keygen.ts (the rotator draws keys too); re-exported for the project layer. */
export { drawKeyPair, randomString, type DrawnPair, type RandomSource } from '../core/keygen.js';

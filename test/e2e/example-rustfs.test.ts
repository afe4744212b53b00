/** The repository's example rotated end to end at the in-process MinIO as `rustfs`: all four credentials (see example-suite.ts). */
import { EXAMPLE_CREDENTIALS } from './example.js';
import { exampleSuite } from './example-suite.js';

exampleSuite({ title: 'rustfs (in-process MinIO), all four credentials', rotate: EXAMPLE_CREDENTIALS });

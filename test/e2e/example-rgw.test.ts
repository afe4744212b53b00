/** The repository's example rotated end to end with ilum-platform switched to `ceph-rgw` on the real radosgw (see example-suite.ts). */
import { exampleSuite } from './example-suite.js';
import { CephRgwProvider } from './providers.js';

exampleSuite({ title: 'ilum-platform on ceph-rgw (real radosgw), rotated alone', switched: () => new CephRgwProvider(), rotate: ['ilum-platform'] });

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ExitCode, ValidationError } from '../../core/errors.js';
import { SealingCertificate } from '../../project/seal.js';
import type { CommandArgs } from '../command.js';

/** What rekey writes beside the project and never wants committed. */
export const GITIGNORE_ENTRIES = ['.rekey-tmp-*/', '*.rekey-old-*/', '.rekey.ledger.yaml.*.tmp', '.rekey-cache/'];

const CERT_FIX = 'Fetch it with `kubeseal --fetch-cert > sealed-secrets.pem` and pass --cert sealed-secrets.pem.';

/**
 * `rekey init [--cert <file>] [--typescript]`: a starter rekey.yaml (pinning the certificate's
 * fingerprint with --cert), a cdk8s.yaml and main.ts only with --typescript, and .gitignore
 * entries for rekey's temporary files. Never overwrites a file.
 */
export async function run({ values, dir, io }: CommandArgs): Promise<number> {
  const spec = join(dir, 'rekey.yaml');
  const typescript = values.typescript === true;
  const planned = [spec, ...(typescript ? [join(dir, 'cdk8s.yaml'), join(dir, 'main.ts')] : [])];
  const existing = planned.filter((f) => existsSync(f));
  if (existing.length > 0) {
    throw new ValidationError(`rekey init would overwrite ${existing.map((f) => relative(dir, f)).join(', ')}: got an existing project. Edit it instead, or run rekey init in an empty folder.`);
  }
  const renewal = '  # previousFingerprints: [SHA256:...]   # after the controller renews its key (every 30 days): the fingerprint pinned before\n';
  let sealing = `# sealing:\n#   certificate: sealed-secrets.pem   # kubeseal --fetch-cert > sealed-secrets.pem\n#   fingerprint: SHA256:...           # rekey fingerprint sealed-secrets.pem\n#${renewal}`;
  const certArg = values.cert as string | undefined;
  if (certArg !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(resolve(dir, certArg), 'utf8');
    } catch (e) {
      throw new ValidationError(`rekey init --cert cannot be read: got ${JSON.stringify(certArg)} (${(e as NodeJS.ErrnoException).code}). ${CERT_FIX}`);
    }
    const cert = SealingCertificate.fromPem(pem, certArg);
    sealing = `sealing:\n  certificate: ${relative(dir, resolve(dir, certArg))}\n  fingerprint: ${cert.fingerprint}\n${renewal}`;
  }
  writeFileSync(spec, starterSpec(sealing, certArg !== undefined));
  if (typescript) {
    writeFileSync(join(dir, 'cdk8s.yaml'), 'language: typescript\napp: npx tsx main.ts\noutput: dist\n');
    writeFileSync(join(dir, 'main.ts'), STARTER_MAIN);
  }
  const gitignore = join(dir, '.gitignore');
  const have = existsSync(gitignore) ? readFileSync(gitignore, 'utf8').split('\n') : [];
  const missing = GITIGNORE_ENTRIES.filter((e) => !have.includes(e));
  if (missing.length) appendFileSync(gitignore, `${have.length && have[have.length - 1] !== '' ? '\n' : ''}# rekey's temporary files\n${missing.join('\n')}\n`);
  io.stdout(
    `wrote ${planned.map((f) => relative(dir, f)).join(', ')}${missing.length ? ' and .gitignore entries' : ''}\n` +
      'Next: declare your providers and credentials (rekey schema prints the JSON Schema for your editor), ' +
      (certArg === undefined ? 'pin your sealed-secrets certificate (rekey fingerprint <cert.pem>), ' : '') +
      'then `rekey rotate <credential>` and `rekey synth`.\n',
  );
  return ExitCode.OK;
}

function starterSpec(sealing: string, sealed: boolean): string {
  const credential = `  - name: app-s3
    provider: storage
    identity: { kind: serviceAccount, name: app }
    aliases: [generic, aws]
    delivery: { kind: sealed }
    targets:
      - { namespace: app, secretName: app-s3 }
    consumers:
      - { kind: Deployment, name: app, namespace: app, envFrom: {} }
    rotationPolicy: { mode: TimeBased, intervalDays: 90 }
`;
  return `# yaml-language-server: $schema=https://rekey.dev/schema/rekey.schema.json
# rekey: declare your storage credentials, where each is delivered and who reads it.
# \`rekey schema\` prints the JSON Schema of this file; \`rekey rotate <credential>\` rotates one.
apiVersion: rekey.dev/v1alpha1
kind: RekeyConfig

${sealing}
rotator:
  namespace: rekey-system             # where the rotation Jobs run
  # The API server endpoint the rotation pods may reach (kubectl get endpoints kubernetes -n default):
  # their NetworkPolicy allows only DNS, the provider and this. rekey never looks it up.
  apiServer: { cidr: 10.96.0.1/32, port: 6443 }

providers:
  - name: storage
    kind: rustfs                      # rustfs | minio | ceph-rgw | aws-iam | external
    endpoint: http://rustfs.storage.svc:9000
    namespace: storage                # where the provider's pods run
    podSelector: { app.kubernetes.io/name: rustfs }
    adminCredential: { secretName: rustfs-admin }   # in the rotator namespace; mounted only into rotation Jobs

${sealed ? `credentials:\n${credential}` : `credentials: []\n# Pin the sealing certificate above first; then, for example:\n${credential.replace(/^/gm, '# ').replace(/# $/, '')}`}`;
}

const STARTER_MAIN = `import { loadSpecChart, RekeyApp, runApp } from 'cdk8s-rekey';

runApp(() => {
  const app = new RekeyApp(); // loads rekey.ledger.yaml
  loadSpecChart(app, 'rekey'); // the credentials of rekey.yaml; add your own charts and constructs here
  app.synth();
});
`;

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, stringify } from 'yaml';
import { Testing } from 'cdk8s';
import { Ledger } from '../../lib/project/ledger.js';
import { chartFromSpec, chartFromSpecDocument } from '../../lib/project/spec-app.js';
import { loadSpec, parseSpec, parseSpecDocument, specJsonSchema, validateSpec } from '../../lib/project/spec.js';
import { entry } from '../constructs/fixtures.js';
import { BAD_SPECS, baseSpec, caseText } from '../support/spec-cases.js';

describe('parseSpec', () => {
  it('accepts the fixture and applies defaults', () => {
    // GIVEN the valid fixture WHEN it is parsed
    const spec = loadSpec('test/fixtures/project/rekey.yaml', 'rekey.yaml');
    // THEN defaults are filled in
    expect(spec.rotator.namespace).toBe('rekey-system');
    expect(spec.providers[0]!.region).toBe('us-east-1');
    expect(spec.providers[0]!.adminCredential).toEqual({ secretName: 'rustfs-admin', accessKeyKey: 'access-key', secretKeyKey: 'secret-key' });
    expect(spec.credentials[0]!.rotationPolicy).toEqual({ mode: 'TimeBased', intervalDays: 30, overlapSeconds: 300 });
    expect(spec.credentials[1]!.rotationPolicy).toEqual({ mode: 'Manual', overlapSeconds: 300 });
    expect(spec.credentials[1]!.delivery).toEqual({ kind: 'sealed', scope: 'namespace-wide' });
    expect(spec.credentials[0]!.delivery).toEqual({ kind: 'sealed', scope: 'strict' });
    expect(spec.credentials[1]!.extraKeys).toEqual({});
    expect(spec.credentials[0]!.consumers[0]!.envFrom).toEqual({ prefix: 'S3_' });
  });

  it('accepts the example rekey.yaml at the repository root', () => {
    expect(() => loadSpec('rekey.yaml')).not.toThrow();
  });

  it('accepts alternatingUsers with explicit users and plain delivery with the opt-in', () => {
    const s = baseSpec();
    s.providers[0].kind = 'ceph-rgw';
    s.credentials[0].identity = { kind: 'alternatingUsers', name: 'uploads', users: ['uploads-a', 'uploads-b'] };
    s.credentials[1].identity = { kind: 'user', name: 'reports' };
    s.credentials[0].delivery = { kind: 'plain', acknowledgeInsecure: true };
    const spec = validateSpec(s);
    expect(spec.credentials[0]!.identity.users).toEqual(['uploads-a', 'uploads-b']);
    expect(spec.credentials[0]!.delivery).toEqual({ kind: 'plain', acknowledgeInsecure: true });
  });

  it('accepts a csi delivery with defaults and builds Delivery.csi from it', () => {
    // GIVEN uploads delivered by the CSI driver from Vault (no extraKeys: the driver syncs mounted objects only)
    const s = baseSpec();
    delete s.credentials[0].extraKeys;
    s.credentials[0].delivery = { kind: 'csi', provider: 'vault', parameters: { roleName: 'uploads' }, store: { kind: 'ClusterSecretStore', name: 'vault' }, remoteKey: 'rekey/uploads', objectPath: 'secret/data/rekey/uploads' };
    // WHEN validated and built
    const spec = validateSpec(s);
    expect(spec.credentials[0]!.delivery).toEqual({ ...s.credentials[0].delivery, rotationPollIntervalSeconds: 120, secretRotationEnabled: true });
    const built = chartFromSpec(Testing.app(), 'rekey', { spec, warn: () => undefined });
    // THEN the credential's delivery is csi with the store reference and the driver settings
    const impl = built.credential('uploads').delivery._impl;
    expect(impl.kind).toBe('csi');
    expect(impl.remote).toEqual({ store: { kind: 'ClusterSecretStore', name: 'vault' }, remoteKey: 'rekey/uploads', properties: { accessKeyId: 'access-key', secretAccessKey: 'secret-key' } });
    expect(impl.csi).toMatchObject({ provider: 'vault', rotationPollIntervalSeconds: 120, secretRotationEnabled: true });
  });

  // The shape is checked by the schema, the cross-field rules by the constructs the spec
  // becomes: both report the rekey.yaml field path.
  const build = (text: string) => chartFromSpecDocument(Testing.app(), 'rekey', parseSpecDocument(text), () => undefined);
  it.each(BAD_SPECS.map((c) => [c.name, c] as const))('rejects %s with one exact line', (_name, c) => {
    expect(() => build(caseText(c))).toThrow(c.message);
    try {
      build(caseText(c));
    } catch (e) {
      expect((e as Error).message).toBe(c.message);
      expect((e as Error).message).not.toContain('\n');
      expect((e as { exitCode?: number }).exitCode).toBe(1);
    }
  });

  it('requires rotator.apiServer once a credential of the spec has been rotated, naming the rekey.yaml field', () => {
    // GIVEN a spec without rotator.apiServer and a ledger that rotated uploads
    const spec = baseSpec();
    delete spec.rotator;
    const ledger = Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3'], ['jobs', 'uploads-s3']]));
    // WHEN it becomes constructs THEN one line names the field and the fix
    expect(() => chartFromSpec(Testing.app(), 'rekey', { spec: parseSpec(stringify(spec)), ledger, warn: () => undefined })).toThrow(
      'rekey.yaml rotator.apiServer is required to render the rotation Jobs of credential uploads: got nothing. Add rotator.apiServer: {cidr: <API server endpoint, kubectl get endpoints kubernetes -n default>, port: 6443}: rotation pods may reach only DNS, the provider and the API server.',
    );
  });

  it('names a missing spec file and says how to fix it', () => {
    expect(() => loadSpec('/nonexistent/rekey.yaml', 'rekey.yaml')).toThrow(
      'rekey.yaml cannot be read: got ENOENT. Create it with `rekey init`, or point --dir at the project folder.',
    );
  });
});

describe('JSON Schema', () => {
  it('schema/rekey.schema.json is the generated one (run npm run schema)', () => {
    const committed = JSON.parse(readFileSync('schema/rekey.schema.json', 'utf8'));
    expect(committed).toEqual(specJsonSchema());
  });

  it('accepts the example and rejects an unknown field, so editors complete and flag correctly', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(specJsonSchema());
    expect(validate(parse(readFileSync('rekey.yaml', 'utf8')))).toBe(true);
    const bad = baseSpec();
    bad.credentials[0].surprise = true;
    expect(validate(bad)).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, stringify } from 'yaml';
import { Testing } from 'cdk8s';
import { Ledger } from '../../lib/project/ledger.js';
import { chartFromSpec, chartFromSpecDocument } from '../../lib/project/spec-app.js';
import { z } from 'zod';
import { loadSpec, parseSpec, parseSpecDocument, specJsonSchema, specSchema, validateSpec } from '../../lib/project/spec.js';
import { unusedDocs, withDocs } from '../../lib/project/spec-docs.js';
import { MAX_PROBLEMS } from '../../lib/project/spec-problems.js';
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
  it.each(BAD_SPECS.map((c) => [c.name, c] as const))('rejects %s with one exact line per problem', (_name, c) => {
    expect(() => build(caseText(c))).toThrow(c.message);
    try {
      build(caseText(c));
    } catch (e) {
      expect((e as Error).message).toBe(c.message);
      const lines = (e as Error).message.split('\n');
      expect(lines.length).toBeLessThanOrEqual(MAX_PROBLEMS + 1);
      for (const line of lines) expect(line).toMatch(/^(rekey\.yaml |… and \d+ more problems in rekey\.yaml: )/);
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

  /** Every property node of a JSON Schema with its path (`credentials[].identity.kind`). */
  const properties = (node: unknown, path = ''): Array<[string, Record<string, unknown>]> => {
    if (Array.isArray(node)) return node.flatMap((n) => properties(n, path));
    if (node === null || typeof node !== 'object') return [];
    const o = node as Record<string, unknown>;
    const out: Array<[string, Record<string, unknown>]> = [];
    for (const [name, p] of Object.entries((o.properties as Record<string, unknown> | undefined) ?? {})) {
      const at = path ? `${path}.${name}` : name;
      out.push([at, p as Record<string, unknown>], ...properties(p, at));
    }
    if (o.items) out.push(...properties(o.items, `${path}[]`));
    for (const k of ['anyOf', 'oneOf', 'allOf']) if (o[k]) out.push(...properties(o[k], path));
    return out;
  };

  it('gives every property a description an editor shows, and explains every enum value (a new field or variant must add its entry to spec-docs.ts)', () => {
    // GIVEN the generated schema
    const schema = specJsonSchema();
    const props = properties(schema);
    expect(props.length).toBeGreaterThan(90);
    // THEN every property is described
    expect(props.filter(([, p]) => typeof p.description !== 'string' || (p.description as string).length < 10).map(([path]) => path)).toEqual([]);
    // and every enum value (or variant discriminator) is explained, value by value
    const enums = props.filter(([, p]) => Array.isArray(p.enum) || typeof p.const === 'string');
    expect(enums.length).toBeGreaterThan(10);
    for (const [path, p] of enums) {
      const values = (Array.isArray(p.enum) ? p.enum : [p.const]) as string[];
      expect([path, (p.enumDescriptions as string[] | undefined)?.filter((d) => d !== '').length]).toEqual([path, values.length]);
      for (const v of values) expect([path, (p.description as string).includes(`- ${v}: `)]).toEqual([path, true]);
    }
    // and no documentation is left for a field the shape no longer has
    expect(unusedDocs(z.toJSONSchema(specSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>)).toEqual([]);
  });

  it('states the defaults the constructs apply', () => {
    const byPath = new Map(properties(specJsonSchema()));
    expect(byPath.get('rotator.backoffLimit')!.default).toBe(2);
    expect(byPath.get('rotator.deadlines.retireSeconds')!.default).toBe(3600);
    expect(byPath.get('gitops.flux.interval')!.default).toBe('10m');
    expect(byPath.get('sealing.previousFingerprints')!.default).toEqual([]);
    expect(byPath.get('providers[].region')!.default).toBe('us-east-1');
  });

  it('reports an undocumented property and an unexplained enum value (so the test above can fail)', () => {
    const missing: string[] = [];
    withDocs({ type: 'object', properties: { x: { type: 'string' }, y: { enum: ['a', 'b'] } } }, { y: { description: 'Why.', values: { a: 'A.' } } }, missing);
    expect(missing).toEqual(['x', 'y=b']);
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

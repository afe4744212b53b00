/** The simulated External Secrets Operator: PushSecret → store → ExternalSecret → target Secret, as upstream reacts. */
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from '@jest/globals';

import { validateManifests } from '../validate.js';
import { defaultControllers } from './controllers/index.js';
import { RemoteStore } from './controllers/remote-store.js';
import { ANNOTATION_DATA_HASH, LABEL_MANAGED, renderTemplate, resourceVersionOf } from './controllers/eso.js';
import { externalSecret, pushSecret, REMOTE_KEY, STORE_KEY } from './eso-fixtures.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone, type Condition, type KubeObject, type Obj } from './types.js';

let kube: FakeKube;
afterEach(async () => {
  await kube?.close();
});

async function start(store = new RemoteStore('vault'), delayTicks = 1) {
  const set = defaultControllers({ externalSecrets: { stores: { [STORE_KEY]: store }, delayTicks } });
  kube = await startFakeKube({ namespaces: ['rekey-system', 'ingest'], controllers: set.all });
  return { store, eso: set.externalSecrets! };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (s: KubeObject | undefined, k: string) => Buffer.from(String((s?.data as Obj | undefined)?.[k] ?? ''), 'base64').toString('utf8');

function staging(gen: number, id: string, secret: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: `rekey-uploads-g${gen}-staging`, namespace: 'rekey-system' }, type: 'Opaque', data: { 'access-key': b64(id), 'secret-key': b64(secret) } };
}

function ready(o: KubeObject | undefined): string {
  const c = (((o?.status as Obj | undefined)?.conditions as Condition[] | undefined) ?? []).find((x) => x.type === 'Ready');
  return c ? `${c.status}:${c.reason}:${c.message}` : 'none';
}

const target = () => kube.registry.find(res('secrets'), 'ingest', 'uploads-s3');
const es = () => kube.registry.get(res('externalsecrets'), 'ingest', 'uploads-s3');
const ps = (g: number) => kube.registry.get(res('pushsecrets'), 'rekey-system', `rekey-uploads-g${g}-push`);

describe('fixtures', () => {
  it('validate against the upstream ExternalSecret and PushSecret CRDs', () => {
    expect(validateManifests([externalSecret(2), pushSecret(2), pushSecret(3, { deletionPolicy: 'Delete', updatePolicy: 'IfNotExists', refreshInterval: '1h' })])).toEqual([]);
  });
});

describe('PushSecret', () => {
  it('pushes its source Secret when created, and not again when the source changes', async () => {
    // GIVEN the staging Secret and its PushSecret
    const { store } = await start();
    kube.apply(staging(2, 'KEYGEN2', 'secret-2'));
    kube.apply(pushSecret(2));
    await kube.settle();
    // THEN the store holds the pair and the PushSecret is Ready
    expect(store.get(REMOTE_KEY)).toEqual({ accessKeyId: 'KEYGEN2', secretAccessKey: 'secret-2' });
    expect(ready(ps(2))).toBe('True:Synced:PushSecret synced successfully');
    expect((ps(2).status as Obj).syncedResourceVersion).toBe(resourceVersionOf(ps(2)));

    // WHEN the source Secret changes (refreshInterval 0s: push once)
    kube.apply(staging(2, 'KEYOTHER', 'secret-x'));
    await kube.settle();
    // THEN nothing is pushed (PushSecrets aren't reactive)
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('KEYGEN2');
    expect(store.writes).toHaveLength(2); // one per property

    // WHEN an annotation of the PushSecret changes
    const p = clone(ps(2));
    p.metadata.annotations = { 'force-sync': '1' };
    kube.registry.update(res('pushsecrets'), 'rekey-system', p.metadata.name!, p);
    await kube.settle();
    // THEN it pushes again
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('KEYOTHER');
  });

  it('is Ready=False while its source is missing and pushes once the source exists (error backoff)', async () => {
    const { store, eso } = await start();
    kube.apply(pushSecret(2));
    for (let i = 0; i < 3; i++) kube.tick();
    expect(ready(ps(2))).toBe('False:Errored:could not get source secret');
    expect(store.get(REMOTE_KEY)).toBeUndefined();
    kube.apply(staging(2, 'KEYGEN2', 'secret-2'));
    await kube.settle({ maxTicks: 2000 } as never);
    for (let i = 0; i < 40; i++) kube.tick();
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('KEYGEN2');
    expect(ready(ps(2))).toBe('True:Synced:PushSecret synced successfully');
    expect(eso.events.filter((e) => e.kind === 'PushSecret').map((e) => e.outcome)[0]).toBe('failed: could not get source secret');
  });

  it('Ready=False when the store cannot accept writes', async () => {
    await start(new RemoteStore('vault', false));
    kube.apply(staging(2, 'KEYGEN2', 'secret-2'));
    kube.apply(pushSecret(2));
    for (let i = 0; i < 3; i++) kube.tick();
    expect(ready(ps(2))).toBe('False:Errored:set secret failed: store vault does not accept writes');
  });

  it('deletionPolicy Delete removes the pushed keys with the PushSecret; None keeps them', async () => {
    const { store } = await start();
    kube.apply(staging(2, 'KEYGEN2', 'secret-2'));
    kube.apply(pushSecret(2));
    await kube.settle();
    kube.registry.delete(res('pushsecrets'), 'rekey-system', 'rekey-uploads-g2-push');
    await kube.settle();
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('KEYGEN2');

    kube.apply(staging(3, 'KEYGEN3', 'secret-3'));
    kube.apply(pushSecret(3, { deletionPolicy: 'Delete' }));
    await kube.settle();
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('KEYGEN3');
    kube.registry.delete(res('pushsecrets'), 'rekey-system', 'rekey-uploads-g3-push');
    await kube.settle();
    expect(store.get(REMOTE_KEY)).toBeUndefined();
  });

  it('updatePolicy IfNotExists never replaces an existing remote value', async () => {
    const { store } = await start();
    store.put(REMOTE_KEY, { accessKeyId: 'OLD', secretAccessKey: 'old' }, 't', 'test');
    kube.apply(staging(2, 'KEYGEN2', 'secret-2'));
    kube.apply(pushSecret(2, { updatePolicy: 'IfNotExists' }));
    await kube.settle();
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe('OLD');
    expect(ready(ps(2))).toBe('True:Synced:PushSecret synced successfully. Existing secrets in providers unchanged.');
  });
});

describe('ExternalSecret', () => {
  it('writes the target Secret through target.template: aliases, credentials file, static keys, generation annotation, managed label, data hash', async () => {
    const { store } = await start();
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    kube.apply(externalSecret(1));
    await kube.settle();
    const s = target()!;
    expect(Object.keys(s.data as Obj)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'access-key', 'credentials', 'region', 'secret-key']);
    expect(text(s, 'access-key')).toBe('KEYGEN1');
    expect(text(s, 'AWS_SECRET_ACCESS_KEY')).toBe('secret-1');
    expect(text(s, 'credentials')).toBe('[default]\naws_access_key_id = KEYGEN1\naws_secret_access_key = secret-1\n');
    expect(text(s, 'region')).toBe('us-east-1');
    expect(s.metadata.annotations?.['rekey.dev/generation']).toBe('1');
    expect(s.metadata.labels?.[LABEL_MANAGED]).toBe('true');
    expect(typeof s.metadata.annotations?.[ANNOTATION_DATA_HASH]).toBe('string');
    expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ExternalSecret', name: 'uploads-s3', controller: true });
    expect(ready(es())).toBe('True:SecretSynced:secret synced');
    expect((es().status as Obj).syncedResourceVersion).toBe(resourceVersionOf(es()));
  });

  it('OnChange: a store change alone does not refresh; a spec change does; so does a force-sync annotation sent by client-node', async () => {
    const { store } = await start();
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    kube.apply(externalSecret(1));
    await kube.settle();

    // WHEN the store changes and time passes
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN2', secretAccessKey: 'secret-2' }, 't', 'test');
    for (let i = 0; i < 100; i++) kube.tick();
    // THEN the target still holds the old pair
    expect(text(target(), 'access-key')).toBe('KEYGEN1');

    // WHEN the spec changes (the next generation is rendered) while the store still has generation 2's pair
    kube.apply({ ...externalSecret(2), metadata: { ...es().metadata } , spec: externalSecret(2).spec });
    await kube.settle();
    expect(text(target(), 'access-key')).toBe('KEYGEN2');
    expect(target()!.metadata.annotations?.['rekey.dev/generation']).toBe('2');

    // WHEN the store changes again, then the force-sync annotation is patched (merge patch through client-node)
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN3', secretAccessKey: 'secret-3' }, 't', 'test');
    await kube.settle();
    expect(text(target(), 'access-key')).toBe('KEYGEN2');
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig());
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObject({ group: 'external-secrets.io', version: 'v1', namespace: 'ingest', plural: 'externalsecrets', name: 'uploads-s3', body: { metadata: { annotations: { 'force-sync': '2-1-1' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await kube.settle();
    expect(text(target(), 'access-key')).toBe('KEYGEN3');
  });

  it('a missing remote key is Ready=False SecretSyncedError and is retried with backoff until the push', async () => {
    const { store } = await start();
    kube.apply(externalSecret(1));
    for (let i = 0; i < 3; i++) kube.tick();
    expect(ready(es())).toBe('False:SecretSyncedError:could not get secret data from provider');
    expect(target()).toBeUndefined();
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    for (let i = 0; i < 40; i++) kube.tick();
    expect(text(target(), 'access-key')).toBe('KEYGEN1');
    expect(ready(es())).toBe('True:SecretSynced:secret synced');
  });

  it('restores a target Secret that was deleted or edited (isSecretValid), without a spec change', async () => {
    const { store } = await start();
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    kube.apply(externalSecret(1));
    await kube.settle();
    const edited = clone(target()!);
    (edited.data as Obj)['access-key'] = b64('TAMPERED');
    kube.registry.update(res('secrets'), 'ingest', 'uploads-s3', edited);
    await kube.settle();
    expect(text(target(), 'access-key')).toBe('KEYGEN1');
    kube.registry.delete(res('secrets'), 'ingest', 'uploads-s3');
    await kube.settle();
    expect(text(target(), 'access-key')).toBe('KEYGEN1');
  });

  it('Periodic refreshes after refreshInterval; refreshes wait delayTicks', async () => {
    const { store } = await start(new RemoteStore('vault'), 3);
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    kube.apply(externalSecret(1, { refreshPolicy: 'Periodic', refreshInterval: '30s' }));
    kube.tick();
    kube.tick();
    expect(target()).toBeUndefined();
    kube.tick();
    expect(text(target(), 'access-key')).toBe('KEYGEN1');
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN2', secretAccessKey: 'secret-2' }, 't', 'test');
    for (let i = 0; i < 20; i++) kube.tick();
    expect(text(target(), 'access-key')).toBe('KEYGEN1');
    for (let i = 0; i < 15; i++) kube.tick();
    expect(text(target(), 'access-key')).toBe('KEYGEN2');
  });

  it('a template naming a missing key is Ready=False; other Go-template syntax fails loudly', async () => {
    const { store } = await start();
    store.put(REMOTE_KEY, { accessKeyId: 'KEYGEN1', secretAccessKey: 'secret-1' }, 't', 'test');
    kube.apply(externalSecret(1, { templateData: { extra: '{{ .nope }}' } }));
    for (let i = 0; i < 3; i++) kube.tick();
    expect(ready(es())).toBe('False:SecretSyncedError:could not update secret');
    expect(() => renderTemplate('{{ .accessKeyId | upper }}', { accessKeyId: 'x' }, 'k')).toThrow('fake ESO renders only {{ .name }} templates: got "{{ .accessKeyId | upper }}" in k');
    expect(renderTemplate('a {{- .x -}} b', { x: 'X' }, 'k')).toBe('aXb');
  });
});

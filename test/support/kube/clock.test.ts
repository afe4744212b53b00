/** The fake clock under tickWhile: time passes only while everyone waits, never while a client works. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from './index.js';

let kube: FakeKube;

afterEach(async () => {
  await kube?.close();
});

/** CPU work in chunks that yield to the event loop, as a slow machine stretches a client's own work. */
async function work(chunks: number): Promise<void> {
  for (let i = 0; i < chunks; i++) {
    const end = performance.now() + 2;
    while (performance.now() < end) {
      // busy
    }
    await new Promise((r) => setImmediate(r));
  }
}

/** A client: a read, its own work, a 3-fake-second sleep, another read, more work. Returns the fake ms it saw pass. */
async function client(kc: KubeConfig, chunks: number): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const t0 = kube.clock.nowMs();
  await core.listNamespace();
  await work(chunks);
  await kube.clock.sleep(3000);
  await core.readNamespace({ name: 'default' });
  await work(chunks);
  await core.listNamespacedConfigMap({ namespace: 'default' });
  return kube.clock.nowMs() - t0;
}

describe('tickWhile', () => {
  it.each([0, 60])('GIVEN an in-process client that works %i chunks of 2 ms between its calls THEN exactly the 3 fake seconds it slept pass', async (chunks) => {
    kube = await startFakeKube();
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig());
    const elapsed = await kube.tickWhile(client(kc, chunks), { quietMs: 0 });
    expect(elapsed).toBe(3000);
  }, 60_000);
});

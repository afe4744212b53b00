import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '../../lib/core/log.js';
import { renderPlan } from '../../lib/core/plan.js';
import type { StepContext, StepTable } from '../../lib/rotator/context.js';
import { RotationError, RotatorExitCode } from '../../lib/rotator/errors.js';
import { runRotator } from '../../lib/rotator/run.js';
import { STEPS } from '../../lib/rotator/steps/index.js';
import { validPlan } from './fixtures.js';

const PLAN = renderPlan(validPlan(), 'fixture');
const NO_CLUSTER = (step: string) =>
  `rotator ${step} for credential uploads generation 3: the Kubernetes API is not reachable: got no KUBECONFIG and no in-cluster service account (KUBERNETES_SERVICE_HOST unset). Run the rotator as its rotation Job, or set KUBECONFIG; nothing was changed.`;

async function run(argv: string[], options: { plan?: string; env?: Record<string, string>; steps?: StepTable; guard?: any } = {}) {
  const logger = new MemoryLogger();
  const read: string[] = [];
  const code = await runRotator({
    argv,
    env: options.env ?? {},
    logger,
    now: () => new Date('2026-12-02T00:00:00Z'),
    readPlan: async (path) => {
      read.push(path);
      if (options.plan === undefined) return PLAN;
      if (options.plan === 'ENOENT') throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return options.plan;
    },
    steps: options.steps,
    guard: options.guard,
  });
  return { code, records: logger.records, lines: logger.lines, read };
}

describe('the rotator dispatcher', () => {
  it.each(['activate', 'deliver', 'retire', 'revoke'])('fails %s outside a cluster with KUBE_ERROR, exit 3, one error line', async (step) => {
    // GIVEN a valid plan and no cluster  WHEN a step runs  THEN the Job fails loudly before any change, never a silent success
    const { code, records } = await run(['--step', step]);
    expect(code).toBe(RotatorExitCode.STEP_FAILED);
    expect(code).toBe(3);
    expect(records).toEqual([
      { level: 'info', msg: 'rotator started', step, credential: 'uploads', generation: 3, attempt: 1, accessKeyId: 'FAKEKEYIDGENERATION3', previousAccessKeyId: 'FAKEKEYIDGENERATION2' },
      { level: 'error', msg: NO_CLUSTER(step), step, credential: 'uploads', generation: 3, accessKeyId: 'FAKEKEYIDGENERATION3', code: 'KUBE_ERROR', exitCode: 3 },
    ]);
  });

  it('every step of the table throws a typed RotationError naming step, credential and key', async () => {
    const plan = JSON.parse(PLAN);
    for (const [step, fn] of Object.entries(STEPS)) {
      const ctx = { step, plan, logger: new MemoryLogger(), now: () => new Date(), env: {} } as unknown as StepContext;
      const e = await fn(ctx).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(RotationError);
      expect(e).toMatchObject({ code: 'KUBE_ERROR', step, credential: 'uploads', generation: 3, keyId: 'FAKEKEYIDGENERATION3', exitCode: 3 });
    }
  });

  it('reads the plan from --plan, else REKEY_PLAN, else /etc/rekey/plan/plan.json', async () => {
    expect((await run(['--step', 'deliver', '--plan', '/tmp/a.json'], { env: { REKEY_PLAN: '/tmp/b.json' } })).read).toEqual(['/tmp/a.json']);
    expect((await run(['--step=deliver'], { env: { REKEY_PLAN: '/tmp/b.json' } })).read).toEqual(['/tmp/b.json']);
    expect((await run([], { env: { REKEY_STEP: 'deliver' } })).read).toEqual(['/etc/rekey/plan/plan.json']);
  });

  it('runs the guard first and the step from the table, logging the outcome and evidence', async () => {
    const order: string[] = [];
    const steps = Object.fromEntries(
      ['activate', 'deliver', 'retire', 'revoke'].map((s) => [s, async () => (order.push(s), { outcome: 'done' as const, evidence: { verifiedAfterMs: 1200 } })]),
    ) as unknown as StepTable;
    const guard = async () => (order.push('guard'), { proceed: true as const });
    const { code, records } = await run(['--step', 'retire'], { steps, guard });
    expect([code, order]).toEqual([0, ['guard', 'retire']]);
    expect(records[1]).toMatchObject({ level: 'info', msg: 'rotator retire for credential uploads generation 3: done', outcome: 'done', verifiedAfterMs: 1200 });
  });

  it('exits 0 without running the step when the guard finds nothing to do', async () => {
    const steps = { activate: async () => { throw new Error('must not run'); } } as unknown as StepTable;
    const { code, records } = await run(['--step', 'activate'], { steps, guard: async () => ({ proceed: false, reason: 'the new key is already active' }) });
    expect(code).toBe(0);
    expect(records[1]!.msg).toBe('rotator activate for credential uploads generation 3: nothing to do: the new key is already active');
  });

  it.each<[string, string[], Record<string, string>, string]>([
    ['an unknown step', ['--step', 'rollback'], {},
      'rotator --step must be one of activate, deliver, retire, revoke: got "rollback". Fix the Job\'s args (rekey synth renders them), or upgrade rekey.'],
    ['no step', [], {}, 'rotator --step is required: got nothing. Run it as the rotation Job does: --step <activate|deliver|retire|revoke> [--plan <path>] (or set REKEY_STEP).'],
    ['an unknown argument', ['--step', 'activate', '--force'], {},
      'rotator arguments has an unknown argument: got "--force". Run it as the rotation Job does: --step <activate|deliver|retire|revoke> [--plan <path>].'],
    ['a missing value', ['--step'], {}, 'rotator --step needs a value: got nothing. Run it as the rotation Job does: --step <activate|deliver|retire|revoke> [--plan <path>].'],
  ])('exits 1 on %s with one error line', async (_name, argv, env, message) => {
    const { code, records } = await run(argv, { env });
    expect(code).toBe(RotatorExitCode.INVALID_INPUT);
    expect(records).toEqual([{ level: 'error', msg: message, step: null, credential: null, generation: null, accessKeyId: null, code: 'ROTATOR_ARGS', exitCode: 1 }]);
  });

  it('exits 1 naming the field of an invalid plan, before any step runs', async () => {
    const plan = validPlan() as any;
    plan.provider.kind = 's3';
    const { code, records } = await run(['--step', 'activate'], { plan: JSON.stringify(plan) });
    expect(code).toBe(1);
    expect(records).toEqual([
      {
        level: 'error',
        msg: 'rotator plan /etc/rekey/plan/plan.json provider.kind must be one of rustfs, minio, ceph-rgw, aws-iam, external: got "s3". Set provider.kind to one of rustfs, minio, ceph-rgw, aws-iam, external.',
        step: 'activate', credential: null, generation: null, accessKeyId: null, code: 'PLAN_INVALID', exitCode: 1,
      },
    ]);
  });

  it('exits 1 when the plan cannot be read', async () => {
    const { code, records } = await run(['--step', 'activate'], { plan: 'ENOENT' });
    expect(code).toBe(1);
    expect(records[0]!.msg).toBe(
      "rotator plan /etc/rekey/plan/plan.json cannot be read: got ENOENT. Mount the plan ConfigMap's plan.json there (rekey synth renders it), or set REKEY_PLAN / --plan.",
    );
  });

  it('exits 3 with one line on a bug in a step', async () => {
    const steps = { deliver: async () => { throw new TypeError('x is undefined'); } } as unknown as StepTable;
    const { code, records } = await run(['--step', 'deliver'], { steps, guard: async () => ({ proceed: true }) });
    expect(code).toBe(3);
    expect(records[1]).toMatchObject({
      level: 'error',
      msg: 'rotator deliver internal error: got TypeError: x is undefined. This is a bug in rekey: report it with this line; the old key stays valid.',
      code: 'INTERNAL',
      exitCode: 3,
    });
    expect(records).toHaveLength(2);
  });
});

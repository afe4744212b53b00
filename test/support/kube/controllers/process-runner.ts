/**
 * A pod runner that runs a real process for each run-to-completion pod (e.g. the rotator bundle
 * for a Job pod) and reports its exit code. The process gets the env the kubelet resolved for the
 * pod's first container, plus whatever `env` adds (e.g. KUBECONFIG pointing at the fake server).
 * While it runs the fake clock stands still (settle() waits for it).
 */
import { execFile } from 'node:child_process';

import type { KubeObject } from '../types.js';
import type { PodOutcome, PodRunContext, PodRunner } from './kubelet.js';

export interface ProcessRunnerOptions {
  readonly command: string;
  readonly args?: readonly string[] | ((pod: KubeObject, context: PodRunContext) => readonly string[]);
  /** Extra environment, merged over the pod's resolved env and PATH/HOME of this process. */
  readonly env?: (pod: KubeObject, context: PodRunContext) => Readonly<Record<string, string>>;
  /** Kills a process that runs longer (a hang guard, not a test condition). @default 120000 */
  readonly timeoutMs?: number;
}

/** What one run printed and returned. */
export interface ProcessRun {
  readonly pod: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessRunner {
  readonly runner: PodRunner;
  /** Every finished run, in completion order (the pods' "logs"). */
  readonly runs: readonly ProcessRun[];
}

export function processRunner(options: ProcessRunnerOptions): ProcessRunner {
  const runs: ProcessRun[] = [];
  const runner: PodRunner = (pod, context) =>
    new Promise<PodOutcome>((resolve) => {
      const args = typeof options.args === 'function' ? options.args(pod, context) : (options.args ?? []);
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...context.env, ...(options.env?.(pod, context) ?? {}) };
      execFile(options.command, [...args], { env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        runs.push({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, exitCode: code, stdout, stderr });
        resolve({ exitCode: code });
      });
    });
  return { runner, runs };
}

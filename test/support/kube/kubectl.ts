/** Test helper: run the preinstalled kubectl against a fake server, each caller with its own cache dir. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubectlResult {
  /** process exit code (0 on success) */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  (...args: string[]): Promise<KubectlResult>;
  /** the KUBECACHEDIR of this runner */
  readonly cacheDir: string;
}

/**
 * A kubectl runner bound to a kubeconfig, with a fresh KUBECACHEDIR (kubectl caches discovery
 * per host for 6 h) and HOME. `timeoutMs` only bounds a hung process (generous by default).
 */
export function kubectlFor(kubeconfigPath: string, timeoutMs = 120_000): Kubectl {
  const cacheDir = mkdtempSync(join(tmpdir(), 'fake-kube-kubectl-'));
  const run = (...args: string[]): Promise<KubectlResult> =>
    new Promise((resolve) => {
      execFile(
        'kubectl',
        ['--kubeconfig', kubeconfigPath, ...args],
        { env: { ...process.env, KUBECACHEDIR: cacheDir, HOME: cacheDir, KUBECONFIG: kubeconfigPath }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  return Object.assign(run, { cacheDir });
}

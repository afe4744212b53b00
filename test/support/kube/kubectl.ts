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
    new Promise((resolve, reject) => {
      execFile(
        'kubectl',
        ['--kubeconfig', kubeconfigPath, ...args],
        { env: { ...process.env, KUBECACHEDIR: cacheDir, HOME: cacheDir, KUBECONFIG: kubeconfigPath }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = (err as { code?: unknown } | null)?.code;
          if (code === 'ENOENT') {
            reject(new Error('kubectl is not on PATH: got ENOENT. Install kubectl 1.32 (preinstalled on the project machines) to run these tests.'));
            return;
          }
          if (err && typeof code !== 'number') {
            reject(new Error(`kubectl ${args.join(' ')} did not exit normally: got ${err.message} (killed after ${timeoutMs} ms?)`));
            return;
          }
          resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr });
        },
      );
    });
  return Object.assign(run, { cacheDir });
}

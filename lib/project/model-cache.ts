import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModel, type RekeyModel } from '../core/model.js';

/**
 * A cache of the model the app last emitted, so `rekey status` need not run the app (a
 * TypeScript app costs seconds to start). It is keyed by the project's files — every path,
 * size and modification time below the project folder, outside node_modules, dist/ and
 * dot-folders — plus rekey's own version: any edit, checkout or upgrade misses. Not committed
 * (`.rekey-cache/` is git-ignored). Only `status` reads it; `rotate`, `check` and `synth`
 * always ask the app.
 */
export const MODEL_CACHE_DIR = '.rekey-cache';
const SKIP = new Set(['node_modules', 'dist', 'build']);
const MAX_FILES = 20_000;

/** The cache key of a project folder, or undefined when the folder is too big to fingerprint cheaply. */
export function projectFingerprint(dir: string, version: string): string | undefined {
  const hash = createHash('sha256').update(version);
  let files = 0;
  const walk = (rel: string): boolean => {
    const entries = readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!walk(p)) return false;
      } else if (e.isFile()) {
        if (++files > MAX_FILES) return false;
        const st = statSync(join(dir, p));
        hash.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
    return true;
  };
  return walk('') ? hash.digest('hex') : undefined;
}

/** What `rekey status` reads from the ledger (identifiers only), cached with the model so a warm status parses no YAML. */
export interface LedgerSummary {
  readonly entries: Readonly<Record<string, { readonly generation: number; readonly accessKeyId: string; readonly rotatedAt: string; readonly attempts?: Readonly<Record<string, number>>; readonly revoke?: true }>>;
  readonly adopted: Readonly<Record<string, { readonly accessKeyId: string }>>;
}

/** A cache hit: the model, and the ledger summary when it was cached with it. */
export interface CachedModel {
  readonly model: RekeyModel;
  readonly ledger?: LedgerSummary;
}

/** The cached model (and ledger summary) when its key matches, else undefined. */
export function readModelCache(dir: string, key: string): CachedModel | undefined {
  try {
    const cached = JSON.parse(readFileSync(join(dir, MODEL_CACHE_DIR, 'model.json'), 'utf8')) as { key?: string; model?: unknown; ledger?: LedgerSummary };
    if (cached.key !== key) return undefined;
    const ledger = cached.ledger && typeof cached.ledger.entries === 'object' && typeof cached.ledger.adopted === 'object' ? cached.ledger : undefined;
    return { model: parseModel(cached.model, 'the model cache'), ...(ledger ? { ledger } : {}) };
  } catch {
    return undefined; // a missing or unreadable cache is a miss
  }
}

/** Stores the model (and the ledger summary) under its key (atomically; a failure to cache never fails the command). */
export function writeModelCache(dir: string, key: string, model: RekeyModel, ledger?: LedgerSummary): void {
  try {
    const folder = join(dir, MODEL_CACHE_DIR);
    mkdirSync(folder, { recursive: true });
    const tmp = join(folder, `model.json.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify({ key, model, ...(ledger ? { ledger } : {}) }) + '\n', { mode: 0o644 });
    renameSync(tmp, join(folder, 'model.json'));
  } catch {
    // read-only checkout: status still works, just without the cache
  }
}

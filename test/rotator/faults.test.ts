/** Fault injection (crash before/after each provider call and Kubernetes write): see faults-scenario.ts. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { FAULTS, label, noteRow, printTable, scenario, type Row } from './faults-scenario.js';

const table: Row[] = [];
const faults = FAULTS.filter((f) => f.kind === 'crash');

afterAll(() => printTable('FAULT TABLE: crash before/after each provider call and Kubernetes write', table));

describe('fault injection: crash before/after each provider call and Kubernetes write', () => {
  it.each(faults.map((f) => [label(f), f] as const))('%s → the re-run converges, invariants hold', async (_name, fault) => {
    const row = await scenario(fault);
    table.push(row);
    noteRow(row);
    expect(row.outcome).toBe('converged, invariants held');
    expect(row.hit).toBe(true);
  }, 180_000);
});

/** Fault injection (applied then reply lost, refusals): see faults-scenario.ts. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { FAULTS, label, noteRow, printTable, scenario, type Row } from './faults-scenario.js';

const table: Row[] = [];
const faults = FAULTS.filter((f) => f.kind !== 'crash');

afterAll(() => printTable('FAULT TABLE: applied then reply lost, refusals', table));

describe('fault injection: applied then reply lost, refusals', () => {
  it.each(faults.map((f) => [label(f), f] as const))('%s → the re-run converges, invariants hold', async (_name, fault) => {
    const row = await scenario(fault);
    table.push(row);
    noteRow(row);
    expect(row.outcome).toBe('converged, invariants held');
    expect(row.hit).toBe(true);
  }, 180_000);
});

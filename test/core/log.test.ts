/**
 * The production logger (JsonLineLogger) on the paths a secret could take into a log line:
 * a SecretValue field by mistake, raw bytes revealed from one, an error message built from one.
 */
import { describe, expect, it } from '@jest/globals';
import { JsonLineLogger, type LogFields } from '../../lib/core/log.js';
import { SecretValue } from '../../lib/core/secret-value.js';

const SECRET = 'fake-log-secret-do-not-use-0001';

function capture(): { lines: string[]; logger: JsonLineLogger } {
  const lines: string[] = [];
  return { lines, logger: new JsonLineLogger((l) => lines.push(l), () => new Date('2026-12-02T00:00:00.000Z')) };
}

describe('JsonLineLogger', () => {
  it('GIVEN fields WHEN logged THEN one JSON line with ts, level, msg and the fields', () => {
    const { lines, logger } = capture();
    logger.log('info', 'provider call', { provider: 'minio', keyId: 'AKFAKE0001', status: 200 });
    expect(lines).toEqual(['{"ts":"2026-12-02T00:00:00.000Z","level":"info","msg":"provider call","provider":"minio","keyId":"AKFAKE0001","status":200}\n']);
  });

  it('GIVEN a SecretValue passed as a field by mistake WHEN logged THEN it is <redacted>', () => {
    const { lines, logger } = capture();
    const secret = SecretValue.fromString(SECRET);
    logger.log('warn', 'oops', { secretAccessKey: secret as unknown as string, list: [secret as unknown as string] });
    expect(lines[0]).not.toContain(SECRET);
    expect(JSON.parse(lines[0])).toMatchObject({ secretAccessKey: '<redacted>', list: ['<redacted>'] });
  });

  it('GIVEN revealed bytes (a Buffer) or a nested pair passed by mistake WHEN logged THEN no byte of the secret shows', () => {
    const { lines, logger } = capture();
    const secret = SecretValue.fromString(SECRET);
    const bytes = secret.revealBytes();
    logger.log('warn', 'oops', { raw: bytes, view: new Uint8Array(bytes), pair: { accessKeyId: 'AKFAKE0001', secretAccessKey: secret } } as unknown as LogFields);
    const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(parsed.raw).toBe(`<${bytes.length} bytes>`);
    expect(parsed.view).toBe(`<${bytes.length} bytes>`);
    expect(parsed.pair).toEqual({ accessKeyId: 'AKFAKE0001', secretAccessKey: '<redacted>' });
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).not.toContain(String(bytes[0]) + ',' + String(bytes[1]));
  });

  it('GIVEN an error message built from a SecretValue WHEN logged THEN the message carries <redacted>', () => {
    const { lines, logger } = capture();
    const secret = SecretValue.fromString(SECRET);
    const err = new Error(`could not use ${secret}`);
    logger.log('error', 'failed', { error: err.message });
    expect(lines[0]).toContain('could not use <redacted>');
    expect(lines[0]).not.toContain(SECRET);
  });
});

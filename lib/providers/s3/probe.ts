/**
 * Does a given pair carry the secret the provider holds for its key ID? For providers that
 * never reveal a stored secret (MinIO/RustFS), one SigV4-signed S3 `GET /` (ListBuckets) with
 * the pair answers it: the server checks the signature before any permission, so
 * - 200, or 403 `AccessDenied` (signature accepted, no permission): the secret matches;
 * - 403 `SignatureDoesNotMatch`: the key exists with ANOTHER secret;
 * - 403 `InvalidAccessKeyId` (and disabled-key codes): the key cannot authenticate now.
 * Anything else (5xx, network) proves nothing and is reported as such.
 */
import { createHash } from 'node:crypto';
import { NodeSha256 } from '../sha256.js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpAnswer, HttpExchange } from '../http.js';
import type { KeyPair } from '../provider.js';

/** What a signed probe showed about a pair. */
export type SecretProbe =
  | { readonly outcome: 'match'; readonly status: number }
  | { readonly outcome: 'mismatch'; readonly status: number; readonly code: string }
  | { readonly outcome: 'cannotAuthenticate'; readonly status: number; readonly code: string }
  | { readonly outcome: 'inconclusive'; readonly status: number; readonly code?: string };

const CANNOT_AUTHENTICATE = new Set(['InvalidAccessKeyId', 'XMinioAdminAccessKeyDisabled', 'AccessKeyDisabled', 'UserSuspended', 'InvalidClientTokenId']);

/** Sends one signed `GET /` with `pair` to `endpoint` and classifies the answer. Transport errors propagate. */
export async function probeSecret(
  send: (req: HttpExchange) => Promise<HttpAnswer>,
  endpoint: URL,
  region: string,
  pair: KeyPair,
  date: Date = new Date(),
): Promise<SecretProbe> {
  const payloadHash = createHash('sha256').update('').digest('hex');
  const signer = new SignatureV4({
    service: 's3',
    region,
    sha256: NodeSha256,
    credentials: async () => ({ accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() }),
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: '/',
      headers: { host: endpoint.host, 'x-amz-content-sha256': payloadHash },
    }),
    { signingDate: date },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
  const res = await send({ method: 'GET', url: `${endpoint.protocol}//${endpoint.host}/`, headers, body: Buffer.alloc(0) });
  const code = errorCodeOf(res.body);
  if (res.status === 200) return { outcome: 'match', status: 200 };
  if (res.status === 403 && code === 'AccessDenied') return { outcome: 'match', status: 403 };
  if (res.status === 403 && code === 'SignatureDoesNotMatch') return { outcome: 'mismatch', status: 403, code };
  if (res.status === 403 && code && CANNOT_AUTHENTICATE.has(code)) return { outcome: 'cannotAuthenticate', status: 403, code };
  return { outcome: 'inconclusive', status: res.status, code };
}

function errorCodeOf(body: Buffer): string | undefined {
  const text = body.toString('utf8');
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? /"Code"\s*:\s*"([^"]*)"/.exec(text)?.[1];
}

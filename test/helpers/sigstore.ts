import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSigned } from './tls.js';

/**
 * A private Sigstore made by the test: a certificate authority standing for Fulcio (openssl), a
 * transparency-log key standing for Rekor, the trusted root naming both, and bundles as cosign and
 * GitHub attestations make them — a DSSE in-toto statement about an image, signed with a
 * short-lived certificate carrying the signer's identity and OIDC issuer, logged with an inclusion
 * promise and an inclusion proof whose checkpoint the log signs.
 */

const b64 = (b: Buffer) => b.toString('base64');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

/** Sorted keys, no whitespace: what Rekor signs. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

export class TestSigstore {
  private rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private logId: Buffer;
  readonly caCert: string;

  constructor(private readonly dir: string) {
    selfSigned(
      dir,
      '/O=test/CN=test fulcio',
      ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
      2,
      'ca',
    );
    this.caCert = readFileSync(join(dir, 'ca.crt'), 'utf8');
    this.logId = sha256(this.rekor.publicKey.export({ type: 'spki', format: 'der' }));
  }

  /** Sigstore's trusted_root.json for this instance. */
  trustedRoot(): string {
    const start = new Date(Date.now() - 3_600_000).toISOString();
    return JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://rekor.test.invalid',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: b64(this.rekor.publicKey.export({ type: 'spki', format: 'der' })),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start },
          },
          logId: { keyId: b64(this.logId) },
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'test', commonName: 'test fulcio' },
          uri: 'https://fulcio.test.invalid',
          certChain: { certificates: [{ rawBytes: b64(der(this.caCert)) }] },
          validFor: { start },
        },
      ],
      ctlogs: [],
      timestampAuthorities: [],
    });
  }

  /** A certificate for `identity` from `issuer`, as Fulcio issues after an OIDC sign-in. */
  private certificate(key: KeyObject, identity: string, issuer: string, name: string): Buffer {
    const keyFile = join(this.dir, `${name}.key`);
    writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }));
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=codeSigning',
        `subjectAltName=critical,URI:${identity}`,
        `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${issuer}`,
      ].join('\n'),
    );
    execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/',
      '-out',
      join(this.dir, `${name}.csr`),
    ]);
    execFileSync('openssl', [
      'x509',
      '-req',
      '-in',
      join(this.dir, `${name}.csr`),
      '-CA',
      join(this.dir, 'ca.crt'),
      '-CAkey',
      join(this.dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      ext,
      '-out',
      join(this.dir, `${name}.crt`),
    ]);
    return der(readFileSync(join(this.dir, `${name}.crt`), 'utf8'));
  }

  /** A bundle signing an in-toto statement about `digest` as `identity` (from `issuer`). */
  bundle(
    digest: string,
    identity: string,
    issuer: string,
    o: { tamper?: boolean; loggedAfterSeconds?: number } = {},
  ): Buffer {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const name = `leaf-${createHash('sha256')
      .update(digest + identity + Math.random())
      .digest('hex')
      .slice(0, 8)}`;
    const cert = this.certificate(key.privateKey, identity, issuer, name);
    const payloadType = 'application/vnd.in-toto+json';
    let payload = Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'image', digest: { sha256: digest.replace(/^sha256:/, '') } }],
        predicateType: 'https://sigstore.dev/cosign/sign/v1',
        predicate: {},
      }),
    );
    const pae = Buffer.concat([
      Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
      payload,
    ]);
    const sig = sign('sha256', pae, key.privateKey);
    const body = Buffer.from(
      canonical({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
          signatures: [{ signature: b64(sig), verifier: b64(Buffer.from(cert)) }],
        },
      }),
    );
    if (o.tamper) payload = Buffer.from(payload.toString().replace('"predicate":{}', '"predicate":{"x":1}'));
    // loggedAfterSeconds: the log recorded it that much later (after the certificate expired, say).
    const integratedTime = Math.floor(Date.now() / 1000) + (o.loggedAfterSeconds ?? 0);
    const set = sign(
      'sha256',
      Buffer.from(
        canonical({ body: b64(body), integratedTime, logIndex: 0, logID: this.logId.toString('hex') }),
      ),
      this.rekor.privateKey,
    );
    const root = sha256(Buffer.concat([Buffer.from([0]), body]));
    const note = `rekor.test.invalid - 1\n1\n${b64(root)}\n`;
    const noteSig = Buffer.concat([
      this.logId.subarray(0, 4),
      sign('sha256', Buffer.from(note), this.rekor.privateKey),
    ]);
    return Buffer.from(
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: b64(cert) },
          tlogEntries: [
            {
              logIndex: '0',
              logId: { keyId: b64(this.logId) },
              kindVersion: { kind: 'dsse', version: '0.0.1' },
              integratedTime: String(integratedTime),
              inclusionPromise: { signedEntryTimestamp: b64(set) },
              inclusionProof: {
                logIndex: '0',
                rootHash: b64(root),
                treeSize: '1',
                hashes: [],
                checkpoint: { envelope: `${note}\n\u2014 rekor.test.invalid ${b64(noteSig)}\n` },
              },
              canonicalizedBody: b64(body),
            },
          ],
        },
        dsseEnvelope: { payload: b64(payload), payloadType, signatures: [{ sig: b64(sig), keyid: '' }] },
      }),
    );
  }
}

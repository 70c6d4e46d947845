import type { SecureContextOptions } from 'node:tls';

/**
 * TLS 1.2 suites the webhook accepts: ECDHE key exchange (forward secrecy) with AEAD ciphers only, the set Go's
 * TLS client (the kube-apiserver) prefers. Static-RSA and CBC suites, which Node's default list still allows,
 * are left out. TLS 1.3 suites are all AEAD and stay at Node's defaults.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export interface ServingTls {
  cert: Buffer | string;
  key: Buffer | string;
  /** PEM CA bundle that client certificates must chain to (mTLS, `serve --client-ca`); absent: no client certificate asked. */
  clientCa?: Buffer | string;
}

/**
 * The options of the HTTPS listener and of every reloaded secure context (`setSecureContext` replaces the whole
 * context: the ciphers and the client CA must come along with each new serving pair).
 */
export function servingTlsOptions(tls: ServingTls): SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean } {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2',
    ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
    honorCipherOrder: true,
    // A client without a certificate from this CA is refused in the handshake, before any HTTP is read.
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}

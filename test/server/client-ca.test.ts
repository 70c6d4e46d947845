/**
 * The client CA check (src/server/client-ca.ts) against Node's own TLS: for each kind of `--client-ca` bundle below,
 * the check accepts it exactly when a real handshake, with the server's own TLS options, answers a client that chains to
 * it. Node's TLS takes any bundle without complaint, so a bundle the check lets through but the handshake refuses
 * would be a webhook that refuses the apiserver while its probes say ready; one the check refuses but the handshake
 * accepts would stop a webhook that works.
 */
import t from 'tap';
import { randomBytes, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../src/certs/authority.ts';
import { watchClientCa } from '../../src/server/client-ca.ts';
import { servingTlsOptions } from '../../src/server/tls-options.ts';
import { handMadeCertificate, type CertificateExtension, type HandMadeCertificate } from '../helpers/hand-made-certificate.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

const ROOT_EXTENSIONS: CertificateExtension[] = [
  { name: 'basicConstraints', cA: true, critical: true },
  { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
];
const CLIENT_EXTENSIONS: CertificateExtension[] = [
  { name: 'basicConstraints', cA: false, critical: true },
  { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  { name: 'extKeyUsage', clientAuth: true },
];

/** The same certificate in OpenSSL's TRUSTED CERTIFICATE form (`openssl x509 -trustout`), without trust settings. */
function trustedForm(pem: string): string {
  const base64 = new X509Certificate(pem).raw.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return `-----BEGIN TRUSTED CERTIFICATE-----\n${base64}-----END TRUSTED CERTIFICATE-----\n`;
}

const servingCa = createCertificateAuthority({ commonName: 'serving CA', validityDays: 1 });
const serving = issueCertificate(servingCa, { commonName: 'localhost', dnsNames: ['localhost'], validityDays: 1, usage: 'server' });

/** Whether a real server with `bundle` as its client CA answers `client` (presenting `chain`). */
async function handshakeAnswers(bundle: string, client: HandMadeCertificate, chain: string): Promise<boolean> {
  const server = createServer(servingTlsOptions({ cert: serving.certPem, key: serving.keyPem, clientCa: bundle }), (_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<boolean>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'localhost', ca: servingCa.certPem, cert: chain, key: client.keyPem, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.end();
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const dir = scratchDir('epp-webhook-client-ca-');

/** The check's verdict, through the API `serve` uses: watchClientCa throws at start on a bundle it refuses. */
function checkAccepts(bundle: string): { accepted: boolean; reason?: string } {
  const file = join(dir, `bundle-${randomBytes(4).toString('hex')}.crt`);
  writeFileSync(file, bundle);
  try {
    watchClientCa({ file, onChange: () => {}, onError: () => {} }).close();
    return { accepted: true };
  } catch (error) {
    return { accepted: false, reason: (error as Error).message };
  }
}

const root = handMadeCertificate('root CA', { extensions: ROOT_EXTENSIONS });
const client = handMadeCertificate('kube-apiserver', { issuer: root, extensions: CLIENT_EXTENSIONS });
const sibling = handMadeCertificate('another client', { issuer: root, extensions: CLIENT_EXTENSIONS });
const v1Root = handMadeCertificate('v1 root', { version: 0, extensions: [] });
const v1Client = handMadeCertificate('kube-apiserver', { issuer: v1Root, extensions: CLIENT_EXTENSIONS });
const keyUsageRoot = handMadeCertificate('keyUsage-only root', { extensions: [{ name: 'keyUsage', keyCertSign: true, critical: true }] });
const keyUsageClient = handMadeCertificate('kube-apiserver', { issuer: keyUsageRoot, extensions: CLIENT_EXTENSIONS });
const pinned = handMadeCertificate('kube-apiserver', { extensions: CLIENT_EXTENSIONS });
const intermediate = handMadeCertificate('intermediate CA', { issuer: root, extensions: ROOT_EXTENSIONS });
const intermediateClient = handMadeCertificate('kube-apiserver', { issuer: intermediate, extensions: CLIENT_EXTENSIONS });

const expiredRoot = handMadeCertificate('expired root', { extensions: ROOT_EXTENSIONS, notAfter: new Date(Date.now() - 3_600_000) });
const expiredRootClient = handMadeCertificate('kube-apiserver', { issuer: expiredRoot, extensions: CLIENT_EXTENSIONS });
const serverOnlyRoot = handMadeCertificate('server-only root', { extensions: [...ROOT_EXTENSIONS, { name: 'extKeyUsage', serverAuth: true }] });
const serverOnlyClient = handMadeCertificate('kube-apiserver', { issuer: serverOnlyRoot, extensions: CLIENT_EXTENSIONS });
const clientAuthRoot = handMadeCertificate('clientAuth root', { extensions: [...ROOT_EXTENSIONS, { name: 'extKeyUsage', clientAuth: true }] });
const clientAuthClient = handMadeCertificate('kube-apiserver', { issuer: clientAuthRoot, extensions: CLIENT_EXTENSIONS });
const weakRoot = handMadeCertificate('weak root', { extensions: ROOT_EXTENSIONS, modulusLength: 1024 });
const weakRootClient = handMadeCertificate('kube-apiserver', { issuer: weakRoot, extensions: CLIENT_EXTENSIONS });
const BOM = '\uFEFF';

const cases: Array<{ bundle: string; what: string; client: HandMadeCertificate; chain?: string; accepted: boolean; reason?: RegExp }> = [
  { what: 'a root CA (basicConstraints CA:TRUE)', bundle: root.certPem, client, accepted: true },
  { what: 'a v1 self-signed root, no extensions (`openssl x509 -req -signkey` without -extfile)', bundle: v1Root.certPem, client: v1Client, accepted: true },
  { what: 'a self-signed root with keyUsage keyCertSign and no basicConstraints', bundle: keyUsageRoot.certPem, client: keyUsageClient, accepted: true },
  { what: 'a pinned self-signed client certificate, presented by the client', bundle: pinned.certPem, client: pinned, accepted: true },
  { what: 'the root in the TRUSTED CERTIFICATE form', bundle: trustedForm(root.certPem), client, accepted: true },
  { what: 'the root with CRLF line ends, after text and a leaf', bundle: `issued 2026-12-03\r\n${sibling.certPem}\r\n${root.certPem}`.replaceAll(/\r?\n/g, '\r\n'), client, accepted: true },
  {
    what: 'an intermediate CA only, the client sending its chain',
    bundle: intermediate.certPem,
    client: intermediateClient,
    chain: intermediateClient.certPem + intermediate.certPem,
    accepted: false,
    reason: /holds no self-signed \(root\) certificate/,
  },
  { what: 'a leaf of the CA, without the CA', bundle: sibling.certPem, client, accepted: false, reason: /holds no self-signed \(root\) certificate/ },
  { what: 'the root with spaces and a tab after its BEGIN and END lines', bundle: root.certPem.replace('-----\n', '-----  \n').replace(/-----\n$/, '-----\t\n'), client, accepted: true },
  { what: 'the root after a byte-order mark', bundle: BOM + root.certPem, client, accepted: true },
  { what: 'two files, each with a byte-order mark, joined (`cat old.crt new.crt`)', bundle: BOM + v1Root.certPem + BOM + root.certPem, client, accepted: true },
  { what: 'a root with extended key usage clientAuth', bundle: clientAuthRoot.certPem, client: clientAuthClient, accepted: true },
  { what: 'an expired root', bundle: expiredRoot.certPem, client: expiredRootClient, accepted: false, reason: /CN=expired root expired on / },
  {
    what: 'a root for servers only (extended key usage serverAuth)',
    bundle: serverOnlyRoot.certPem,
    client: serverOnlyClient,
    accepted: false,
    reason: /CN=server-only root is for other uses than client authentication \(extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1\)/,
  },
  { what: 'a root with a 1,024-bit RSA key', bundle: weakRoot.certPem, client: weakRootClient, accepted: false, reason: /CN=weak root has a 1024-bit RSA key/ },
  { what: 'an expired root beside a valid one (a rotation left half done)', bundle: expiredRoot.certPem + root.certPem, client, accepted: true },
  { what: 'an empty file', bundle: '', client, accepted: false, reason: /holds no PEM certificate/ },
  { what: 'an unterminated block before the root', bundle: `-----BEGIN CERTIFICATE-----\nMIIB\n${root.certPem}`, client, accepted: false, reason: /1 of its 2 PEM certificates do not start at a line's start or have no matching END line/ },
  { what: 'the root with its BEGIN line indented', bundle: `  ${root.certPem}`, client, accepted: false, reason: /1 of its 1 PEM certificates/ },
];

for (const testCase of cases) {
  t.test(`${testCase.what}: the check and the handshake agree (${testCase.accepted ? 'answered' : 'refused'})`, async (t) => {
    const answered = await handshakeAnswers(testCase.bundle, testCase.client, testCase.chain ?? testCase.client.certPem);
    t.equal(answered, testCase.accepted, `Node's handshake ${answered ? 'answers' : 'refuses'} the client`);
    const check = checkAccepts(testCase.bundle);
    t.equal(check.accepted, answered, `the check ${check.accepted ? 'accepts' : `refuses: ${check.reason}`}`);
    if (testCase.reason) t.match(check.reason, testCase.reason);
  });
}

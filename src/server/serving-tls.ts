import type { Server as HttpsServer } from 'node:https';
import { watchClientCa, type ClientCa } from './client-ca.ts';
import { watchTlsFiles, type TlsMaterial } from './tls-files.ts';
import { servingTlsOptions, type ServingTls } from './tls-options.ts';
import type { WatchedFiles } from './watched-files.ts';

export interface ServingTlsFiles {
  certFile: string;
  keyFile: string;
  /** PEM CA bundle that client certificates must chain to (`serve --client-ca`); absent: no client certificate asked. */
  clientCaFile?: string;
  intervalMs?: number;
}

/** What the server tells its log and metrics; each `refused` keeps the previous value in place. */
export interface ServingTlsEvents {
  pairReloaded(material: TlsMaterial): void;
  pairRefused(error: Error): void;
  clientCaReloaded(ca: ClientCa): void;
  clientCaRefused(error: Error): void;
}

export interface ServingTlsWatcher {
  /** The serving pair and client CA now in use: what the HTTPS listener starts with. */
  current(): ServingTls & { notAfter: Date };
  /** The server each reload is applied to (`setSecureContext`). */
  attach(server: HttpsServer): void;
  close(): void;
}

/**
 * The serving pair and the client CA, each reloaded when its files change. setSecureContext replaces the whole
 * context, so a reload of either brings the other along. A context OpenSSL refuses throws in onChange, so its watcher
 * keeps the previous value and both stay as they were (a pair it refuses alone, an RSA-1024 one, is refused before, by
 * tls-files.ts, naming its files).
 */
export function watchServingTls(files: ServingTlsFiles, events: ServingTlsEvents): ServingTlsWatcher {
  let server: HttpsServer | undefined;
  const apply = (pair: TlsMaterial, ca: ClientCa | undefined): void => {
    server?.setSecureContext(servingTlsOptions({ cert: pair.cert, key: pair.key, clientCa: ca?.pem }));
  };
  // Each watcher's current() is the value it last handed over without a throw, that is, the one the server took.
  const clientCaWatcher: WatchedFiles<ClientCa> | undefined =
    files.clientCaFile === undefined
      ? undefined
      : watchClientCa({
          file: files.clientCaFile,
          intervalMs: files.intervalMs,
          onChange(ca) {
            apply(pairWatcher.current(), ca);
            events.clientCaReloaded(ca);
          },
          onError: events.clientCaRefused,
        });
  let pairWatcher: WatchedFiles<TlsMaterial>;
  try {
    pairWatcher = watchTlsFiles({
      certFile: files.certFile,
      keyFile: files.keyFile,
      intervalMs: files.intervalMs,
      onChange(material) {
        apply(material, clientCaWatcher?.current());
        events.pairReloaded(material);
      },
      onError: events.pairRefused,
    });
  } catch (error) {
    clientCaWatcher?.close();
    throw error;
  }
  return {
    current() {
      const { cert, key, notAfter } = pairWatcher.current();
      return { cert, key, clientCa: clientCaWatcher?.current().pem, notAfter };
    },
    attach(httpsServer) {
      server = httpsServer;
    },
    close() {
      pairWatcher.close();
      clientCaWatcher?.close();
    },
  };
}

/**
 * Test support: an HTTPS pass-through in front of an S3Server that can stop one request in its
 * tracks, so a test can freeze restic at an exact point of its protocol (say, the first DELETE
 * of a data pack during `prune`) and kill the pod right there.
 *
 * Requests are forwarded byte for byte with their headers unchanged: the client signed them for
 * the gate's host:port and s3rver checks the signature against the Host header it receives.
 * The gate's certificate comes from the S3 server's CA, so the pod trusts both.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { makeServerCert } from './pki';
import { S3Server } from './s3';

export interface GatedRequest {
  readonly method: string;
  readonly path: string;
}

export interface S3Gate {
  /** https://127.0.0.1:PORT of the gate */
  readonly endpoint: string;
  /** Every request seen, in order (held ones included). */
  readonly requests: GatedRequest[];
  /**
   * Holds the first request (from now on) for which `match` returns true, forever: resolves with
   * it once it arrives. `match` sees every earlier request too, in order.
   */
  holdWhen(match: (r: GatedRequest, seen: readonly GatedRequest[]) => boolean): Promise<GatedRequest>;
  /** Drops held requests and stops listening. */
  close(): Promise<void>;
}

export async function startS3Gate(s3: S3Server): Promise<S3Gate> {
  const cert = makeServerCert(path.dirname(s3.caCertFile), `s3-gate-${process.pid}-${Date.now()}`);
  const ca = fs.readFileSync(s3.caCertFile);
  const requests: GatedRequest[] = [];
  const held: http.IncomingMessage[] = [];
  let trigger: { match: (r: GatedRequest, seen: readonly GatedRequest[]) => boolean; resolve: (r: GatedRequest) => void } | undefined;

  const server = https.createServer({ key: fs.readFileSync(cert.key), cert: fs.readFileSync(cert.cert) }, (req, res) => {
    const r: GatedRequest = { method: req.method ?? '', path: req.url ?? '' };
    requests.push(r);
    if (trigger && trigger.match(r, requests.slice(0, -1))) {
      const t = trigger;
      trigger = undefined;
      held.push(req);
      t.resolve(r);
      return; // never answered: the client waits, as if the storage had stalled
    }
    const upstream = https.request({
      host: '127.0.0.1', port: s3.port, method: req.method, path: req.url, headers: req.headers, ca,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    requests,
    holdWhen(match) {
      return new Promise((resolve) => {
        trigger = { match, resolve };
      });
    },
    async close() {
      for (const req of held) req.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

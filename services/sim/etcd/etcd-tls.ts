/**
 * TLS for the local etcd: certificates from the cluster CA for every member
 * (one certificate for the client and the peer port, with both the server and
 * the client usage) and one client certificate per kind of user, etcd's TLS
 * flags, and an https request helper for etcd's HTTP endpoints (`/health`,
 * the gRPC gateway) that presents a client certificate.
 *
 * etcd 3.4 specifics this follows:
 * - `--client-cert-auth` with `--trusted-ca-file`: the client port accepts only
 *   connections that present a certificate issued by the cluster CA (a plaintext
 *   connection, or TLS without a client certificate, fails the handshake).
 * - `--peer-client-cert-auth` with `--peer-trusted-ca-file`: the same for raft traffic, and
 *   `--peer-cert-allowed-cn`: only a member certificate (CN {@link ETCD_PEER_COMMON_NAME})
 *   may join raft, not any certificate of the cluster CA (a voter's, an operator's).
 * - etcd checks a client certificate that carries SANs against the address the
 *   connection comes from (pkg/transport listener `checkSAN`): a member's
 *   certificate is also its client certificate towards the other members, so it
 *   names the address its outgoing connections come from (127.0.0.1 on loopback)
 *   besides the addresses it is dialled at. The users' client certificates carry
 *   no SAN (they connect from anywhere).
 * - With `--client-cert-auth`, a request without an auth token is made as the
 *   user named by the certificate's CN (etcdserver `AuthInfoFromCtx` falls back to
 *   `AuthInfoFromTLS`). The cluster logs in with a user and password on every
 *   connection; its client certificates name no etcd user (CN `etcd-client-<kind>`),
 *   so a certificate alone grants nothing.
 * - The gRPC gateway (HTTP `/v3/...`) dials its own member with the member's
 *   certificate as a client certificate: a member certificate needs the client usage.
 */
import { request as httpsRequest } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CA_CERT_FILE, CA_KEY_FILE, createCertsDir, issueInto, readCaFiles, type CertsDir, type TlsFiles } from '../../security/index.ts';

/** PEM bytes a client presents to etcd's HTTP endpoints. */
export interface EtcdHttpTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** CN of every member certificate; the peer port accepts no other (`--peer-cert-allowed-cn`). */
export const ETCD_PEER_COMMON_NAME = 'etcd-peer';

/** CN of the client certificate of each kind of etcd user (never an etcd user name). */
export const etcdClientCommonName = (kind: string): string => `etcd-client-${kind}`;

/** The launcher's TLS material: the CA and the files it issued. */
export interface EtcdTlsMaterial {
  /** The certs directory (the CA and every issued pair). */
  readonly certs: CertsDir;
  /** Issues the certificate of member `name`, valid for `sans` (plus 127.0.0.1), replacing an earlier one. */
  member(name: string, sans: readonly string[]): Promise<TlsFiles>;
  /** Issues (once) and returns the client certificate of a kind of user. */
  client(kind: string): Promise<TlsFiles>;
  /** The launcher's own client material for `/health` and the gateway (the root kind's certificate). */
  readonly httpTls: EtcdHttpTls;
}

/**
 * The TLS material of a launched etcd: certificates issued from `certs` (a cluster CA
 * the caller already has), else from the CA in `dir` (created there on first use; a data
 * dir started again keeps its CA).
 */
export async function createEtcdTls(dir: string, certs?: CertsDir): Promise<EtcdTlsMaterial> {
  const c =
    certs ??
    (existsSync(join(dir, CA_CERT_FILE))
      ? { dir, caFile: join(dir, CA_CERT_FILE), caKeyFile: join(dir, CA_KEY_FILE), ca: readCaFiles(dir), files: {} }
      : await createCertsDir(dir, []));
  const issued = new Map<string, TlsFiles>();
  const issueOnce = async (name: string, make: () => Promise<TlsFiles>): Promise<TlsFiles> => {
    const have = issued.get(name) ?? c.files[name];
    if (have) return have;
    const files = await make();
    issued.set(name, files);
    return files;
  };
  const client = (kind: string): Promise<TlsFiles> =>
    issueOnce(`etcd-client-${kind}`, () => issueInto(c, { name: `etcd-client-${kind}`, commonName: etcdClientCommonName(kind), role: 'etcd-client', usage: 'client' }, { force: true }));
  const own = await client('root');
  return {
    certs: c,
    member: (name, sans) =>
      issueInto(c, { name: `etcd-member-${name}`, commonName: ETCD_PEER_COMMON_NAME, role: 'etcd', usage: 'peer', sans: [...new Set(['127.0.0.1', ...sans])] }, { force: true }),
    client,
    httpTls: { ca: readFileSync(own.caFile), cert: readFileSync(own.certFile), key: readFileSync(own.keyFile) },
  };
}

/**
 * etcd's TLS flags for a member: client and peer TLS from `files`, client certificates required
 * on both ports, and only member certificates on the peer port.
 */
export function etcdTlsFlags(files: TlsFiles): string[] {
  return [
    '--cert-file', files.certFile,
    '--key-file', files.keyFile,
    '--trusted-ca-file', files.caFile,
    '--client-cert-auth',
    '--peer-cert-file', files.certFile,
    '--peer-key-file', files.keyFile,
    '--peer-trusted-ca-file', files.caFile,
    '--peer-client-cert-auth',
    '--peer-cert-allowed-cn', ETCD_PEER_COMMON_NAME,
  ];
}

/**
 * One request to an etcd HTTP endpoint (`https://` with `tls`: the CA, and the client certificate
 * when given; `http://`: plaintext): resolves
 * status and body, or rejects on a transport error or after `timeoutMs`.
 */
export function etcdHttp(url: string, opts: { tls?: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined; method?: 'GET' | 'POST'; body?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  if (u.protocol === 'http:') {
    return fetch(url, { method: opts.method ?? 'GET', ...(opts.body !== undefined ? { body: opts.body } : {}), signal: AbortSignal.timeout(opts.timeoutMs ?? 1_000) }).then(async (res) => ({
      status: res.status,
      body: await res.text(),
    }));
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: u.hostname,
        port: Number(u.port),
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        ...(opts.tls ? { ca: opts.tls.ca, ...(opts.tls.cert && opts.tls.key ? { cert: opts.tls.cert, key: opts.tls.key } : {}) } : {}),
        timeout: opts.timeoutMs ?? 1_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`etcd ${url}: no answer in ${opts.timeoutMs ?? 1_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

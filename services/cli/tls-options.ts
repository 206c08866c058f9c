/**
 * `--tls-ca`, `--tls-cert`, `--tls-key`: the same three options on every command that
 * serves or dials a cluster gRPC link (proxy, voter, admin, and the operator commands that
 * call the Admin API). Config file keys `tls.caFile`, `tls.certFile`, `tls.keyFile`; env
 * `VOTECLUSTER_<SERVICE>_TLS__CA`, `…_TLS__CERT`, `…_TLS__KEY`.
 */
import type { Command } from 'commander';
import type { ConfigFieldSpec } from './config.ts';

/** The config loader's fields for the `tls` block (flags `tlsCa`, `tlsCert`, `tlsKey`). */
export const TLS_CONFIG_FIELDS: readonly ConfigFieldSpec[] = [
  { path: 'tls.caFile', flag: 'tlsCa', env: 'TLS__CA' },
  { path: 'tls.certFile', flag: 'tlsCert', env: 'TLS__CERT' },
  { path: 'tls.keyFile', flag: 'tlsKey', env: 'TLS__KEY', secret: true },
];

/** Adds the three options to `cmd`; `what` says what the certificate is for. */
export function addTlsOptions(cmd: Command, service: string, what: string): Command {
  const env = `VOTECLUSTER_${service.toUpperCase()}_TLS__`;
  return cmd
    .option('--tls-ca <file>', `cluster CA bundle (PEM) peers' certificates must be issued by (env ${env}CA)`)
    .option('--tls-cert <file>', `certificate (PEM) this process presents ${what} (env ${env}CERT)`)
    .option('--tls-key <file>', `private key of --tls-cert, mode 0600 (env ${env}KEY)`);
}

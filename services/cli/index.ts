/**
 * services/cli: the `votecluster` command line. `main(argv, extra)` runs it; the
 * executable passes the simulation's demo commands as `extra`.
 */
export { main, buildProgram } from './main.ts';
export type { CommandTable, Register } from './main.ts';
/** Parses `--metrics-listen HOST:PORT` (loopback by default); MetricsListenError otherwise. */
export { parseMetricsListen, MetricsListenError } from './metrics-listen.ts';
/** `votecluster --version`: package version, build commit, proto packages and wallet JSON-RPC API versions. */
export { versionInfo, formatVersion, buildIdentity, protoPackagesIn, VersionInfoError } from './version.ts';
export type { VersionInfo } from './version.ts';
/** Readiness of the admin service for `/readyz` (endpoints up, etcd answers, watch caches current). */
export { adminReadiness, ADMIN_ETCD_PROBE_TIMEOUT_MS } from './admin-context.ts';

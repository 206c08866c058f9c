/** Local etcd launcher (1 or 3 members on free loopback ports); see etcd-server.ts for the TSDoc of each export. */
export { startEtcd, findEtcdBinary, EtcdLauncherError, EtcdNotInstalledError, EtcdStartError, EtcdOptionsError, DEFAULT_ETCD_HEARTBEAT_MS, DEFAULT_ETCD_ELECTION_MS } from './etcd-server.ts';
export type { StartEtcdOptions, EtcdServer, EtcdMember, EtcdMemberListen, EtcdAdvertise } from './etcd-server.ts';

/**
 * The one place that loads votecluster's .proto files with
 * @grpc/proto-loader. Every gRPC server and client of the project (NodeProxy
 * here, Admin later) uses {@link loadVoteclusterProto} so field casing, int64
 * and enum handling are identical everywhere:
 * keepCase (snake_case fields), longs as decimal strings, enums as names,
 * defaults filled in, oneofs as a virtual field naming the set member.
 */
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/**
 * Root of the proto tree (imports are relative to it: `votecluster/v1/types.proto`):
 * proto/ of the checkout, or dist/proto of a build (`npm run build` copies it there).
 */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

/** The loader options every votecluster gRPC endpoint uses. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** A loaded proto set: the raw package definition (for reflection) and the grpc object. */
export interface LoadedProto {
  packageDefinition: PackageDefinition;
  grpcObject: GrpcObject;
  /** Looks up a service by fully qualified name, e.g. `votecluster.v1.NodeProxy`. */
  service(fullName: string): { definition: ServiceDefinition; Client: ServiceClientConstructor };
}

const cache = new Map<string, LoadedProto>();

/**
 * Loads (once per file set) the given files, relative to {@link PROTO_ROOT}.
 * @example const p = loadVoteclusterProto(['votecluster/v1/nodeproxy.proto']);
 *          const { definition } = p.service('votecluster.v1.NodeProxy');
 */
export function loadVoteclusterProto(files: readonly string[]): LoadedProto {
  const key = [...files].sort().join('|');
  const hit = cache.get(key);
  if (hit) return hit;
  const packageDefinition = loadSync([...files], PROTO_LOADER_OPTIONS);
  const grpcObject = loadPackageDefinition(packageDefinition);
  const loaded: LoadedProto = {
    packageDefinition,
    grpcObject,
    service(fullName) {
      let node: unknown = grpcObject;
      for (const part of fullName.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
      const Client = node as ServiceClientConstructor | undefined;
      if (typeof Client !== 'function' || !Client.service) throw new Error(`proto service ${fullName} not found in ${files.join(', ')}`);
      return { definition: Client.service, Client };
    },
  };
  cache.set(key, loaded);
  return loaded;
}

/** The NodeProxy proto files. */
export const NODEPROXY_PROTO_FILES = ['votecluster/v1/nodeproxy.proto'] as const;
/** Fully qualified name of the NodeProxy service. */
export const NODEPROXY_SERVICE = 'votecluster.v1.NodeProxy';

/**
 * services/security: the cluster's certificate authority and TLS material (generation,
 * loading, reload on change), and the checks on secret files (permissions, fingerprints).
 * A leaf service: it depends only on telemetry.
 */
export {};

/**
 * Errors of the devnet. JSON-RPC failures carry dcrd's numeric codes
 * (decred/dcrd: dcrjson/jsonrpcerr.go, internal/rpcserver/rpcserverhandlers.go),
 * so a client that branches on dcrd's codes behaves the same against the devnet.
 */

/** dcrd's JSON-RPC error codes that the devnet returns. */
export const RPC_ERR = {
  /** ErrRPCMisc: any mempool rule violation ("rejected transaction ..."), out of range. */
  MISC: -1,
  /** ErrRPCNoTxInfo / ErrRPCBlockNotFound / invalid address or key. */
  NOT_FOUND: -5,
  /** ErrRPCInvalidParameter. */
  INVALID_PARAMETER: -8,
  /** ErrRPCDeserialization / ErrRPCDecodeHexString. */
  DECODE: -22,
  /** ErrRPCDuplicateTx: already in the mempool, already mined, or recently confirmed. */
  DUPLICATE_TX: -40,
  /** ErrRPCMethodNotFound. */
  METHOD_NOT_FOUND: -32601,
  /** ErrRPCInvalidParams: wrong number or type of params. */
  INVALID_PARAMS: -32602,
  /** ErrRPCInvalidRequest. */
  INVALID_REQUEST: -32600,
  /** ErrRPCParse. */
  PARSE: -32700,
  /** ErrRPCInternal. */
  INTERNAL: -32603,
} as const;

/** A JSON-RPC error as dcrd returns it: `{code, message}`. */
export class RpcError extends Error {
  readonly rpcCode: number;
  constructor(rpcCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.rpcCode = rpcCode;
    this.name = 'RpcError';
  }
  toJSON(): { code: number; message: string } {
    return { code: this.rpcCode, message: this.message };
  }
}

/** A devnet failure outside JSON-RPC (bad options, bootstrap, relay). Codes are `DEVNET_<REASON>`. */
export class DevnetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'DevnetError';
  }
}

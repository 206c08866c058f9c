import { describe, expect, it } from 'vitest';
import { classifyDcrdError } from '../../../services/nodeproxy/send-vote.ts';
import { DcrdRpcError } from '../../../services/nodeproxy/errors.ts';

// Codes and message shapes from decred/dcrd (dcrjson/jsonrpcerr.go, rpcserver handleSendRawTransaction,
// internal/mempool vote double-spend check).
describe('classifyDcrdError', () => {
  it.each([
    [-40, 'rejected transaction abc: already have transaction abc', 'DUPLICATE'],
    [-1, 'rejected transaction abc: vote def for ticket 123 already votes on block 456', 'CONFLICT'],
    [-1, 'rejected transaction abc: orphan transaction abc references outputs of unknown or fully-spent transaction def', 'REJECTED'],
    [-22, 'TX decode failed: unexpected EOF', 'REJECTED'],
    [-25, 'something else', 'REJECTED'],
  ] as const)('%i %s -> %s', (code, msg, want) => {
    expect(classifyDcrdError(new DcrdRpcError('sendrawtransaction', code, msg))).toBe(want);
  });
});

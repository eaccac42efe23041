/**
 * An approval of one digest for one environment, as stored and as a gate decision carries it (the
 * decision's type lives in policy/, below the store, so the record's shape lives here).
 */
export interface ApprovalRecord {
  digest: string;
  environment: string;
  state: 'requested' | 'approved' | 'rejected' | 'revoked';
  requestedBy: string | null;
  requestReason: string | null;
  requestedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  decidedAt: string | null;
  acceptedFailures: string[];
}

import { Type, type Static } from '@sinclair/typebox';
import { provenance } from '../schemas.js';

/** A CI upload's answer: where its result will be. */
export const ReportAccepted = Type.Object({
  digest: Type.String(),
  queued: Type.Boolean(),
  serverScanQueued: Type.Optional(
    Type.Boolean({ description: 'the image lives in a configured registry: the server scans it itself' }),
  ),
  provenance: Type.Unsafe<{ kind: string; by: string | null; at: string | null }>(provenance),
  url: Type.String(),
});
export type ReportAccepted = Static<typeof ReportAccepted>;

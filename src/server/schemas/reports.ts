import { Type, type Static } from '@sinclair/typebox';
import { Provenance } from './common.js';

/** A CI upload's answer: where its result will be. */
export const ReportAccepted = Type.Object({
  digest: Type.String(),
  queued: Type.Boolean(),
  serverScanQueued: Type.Optional(
    Type.Boolean({ description: 'the image lives in a configured registry: the server scans it itself' }),
  ),
  provenance: Provenance,
  url: Type.String(),
});
export type ReportAccepted = Static<typeof ReportAccepted>;

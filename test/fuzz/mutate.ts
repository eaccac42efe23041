import fc from 'fast-check';

/** Byte-level mutations of a seed: flips, overwrites with interesting values, cuts, repeats, splices. */
export const mutation = (seedCount: number) =>
  fc.record({
    seed: fc.nat({ max: seedCount - 1 }),
    ops: fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant('set' as const),
          at: fc.nat(),
          value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x2d, 0x30, 0x7b, 0x7d, 0x22),
        }),
        fc.record({
          kind: fc.constant('flip' as const),
          at: fc.nat(),
          value: fc.integer({ min: 1, max: 255 }),
        }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.nat() }),
        fc.record({
          kind: fc.constant('repeat' as const),
          at: fc.nat(),
          value: fc.integer({ min: 1, max: 64 }),
        }),
        fc.record({
          kind: fc.constant('int32' as const),
          at: fc.nat(),
          value: fc.constantFrom(-1, 0, 1, 0x7fffffff, -0x80000000, 0xffff, 4096),
        }),
      ),
      { minLength: 1, maxLength: 8 },
    ),
  });

export function apply(seed: Buffer, ops: Array<{ kind: string; at: number; value: number }>): Buffer {
  let b = Buffer.from(seed);
  for (const op of ops) {
    if (!b.length) break;
    const at = op.at % b.length;
    if (op.kind === 'set') b[at] = op.value;
    else if (op.kind === 'flip') b[at] ^= op.value;
    else if (op.kind === 'cut')
      b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + (op.value % 4096)))]);
    else if (op.kind === 'repeat') {
      const piece = b.subarray(at, at + 16);
      b = Buffer.concat([
        b.subarray(0, at),
        ...Array.from({ length: op.value }, () => piece),
        b.subarray(at),
      ]);
    } else if (op.kind === 'int32' && at + 4 <= b.length) b.writeInt32BE(op.value | 0, at);
  }
  return b;
}

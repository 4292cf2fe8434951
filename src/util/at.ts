// Indexed access for an index that is in range by construction (a loop bound, a length check just
// above, a regex group that always takes part in the match). Under noUncheckedIndexedAccess this
// replaces a silent `!`: if the invariant is ever broken, the caller gets a clear error naming
// what was looked up instead of an `undefined` that fails somewhere far away.

/** `xs[i]`, or throws a RangeError naming `what` when the slot is empty. */
export function at<T>(xs: ArrayLike<T>, i: number, what = 'element'): T {
  const v = xs[i];
  if (v === undefined) throw new RangeError(`${what}: index ${i} out of range (length ${xs.length})`);
  return v;
}

// The one polling helper of the tests: wait for a condition with a deadline instead of sleeping a
// fixed time. Every test and helper that waits for something to become true uses `eventually`.

/** How a rejected check is shown in the timeout message. */
function describe(e: unknown): string {
  return e instanceof Error ? e.message : JSON.stringify(e);
}

/**
 * Calls `check` every `everyMs` until it returns a truthy value (returned) or `timeoutMs` passed (throws,
 * naming `what` and the last error `check` threw). A check that throws counts as "not yet".
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(everyMs, Math.max(1, deadline - Date.now()))));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${describe(last)}`}`);
}

/** Resolves with `p`, or rejects after `timeoutMs` naming `what`: for any await on a process or socket. */
export async function withDeadline<T>(what: string, p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

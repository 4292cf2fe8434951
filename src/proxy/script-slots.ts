// Scripts and functions on a migrating slot. A script may touch keys of its slot that it does not
// declare in KEYS (Redis Cluster allows it, and BullMQ builds its job keys inside its scripts from a
// declared prefix), so moving the declared keys first — what the proxy does for every other command
// on a migrating slot — is not enough: the script could run on the target while an undeclared key it
// reads is still on the source. So EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/FCALL/FCALL_RO on a migrating or
// locked slot wait until the slot has settled (its migration finished and the table says so), then
// run on the new owner; past `migration_lock_wait` they get TRYAGAIN, as Redis Cluster answers
// multi-key requests it cannot serve during a migration.
import { errorReply } from '../resp/encode.js';
import type { Router } from './router.js';

export const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** Counters (stats): scripts that waited for their slot, and those that gave up with TRYAGAIN. */
export const scriptWaits = { waited: 0, timedOut: 0 };

/**
 * Resolves with null once `slot` is neither migrating nor locked, or with a TRYAGAIN error reply after
 * `waitMs` (or when the client left, which the caller checks).
 */
export async function waitSlotSettled(router: Router, slot: number, waitMs: number, isClosed: () => boolean): Promise<Buffer | null> {
  if (!router.isUnsettled(slot)) return null;
  scriptWaits.waited++;
  const deadline = Date.now() + waitMs;
  while (router.isUnsettled(slot)) {
    const left = deadline - Date.now();
    if (left <= 0 || isClosed()) {
      scriptWaits.timedOut++;
      return errorReply(
        `TRYAGAIN slot ${slot} is migrating: a script may touch keys it does not declare, so it runs only once the slot's migration finished; retry shortly`,
      );
    }
    await router.nextChange(Math.min(100, left));
  }
  return null;
}

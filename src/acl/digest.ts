// The digest of a set of ACL lines that a dashboard pushes to its proxies: the proxy reports the
// digest of what it holds (stats acl_digest) and the dashboard pushes again when it differs from its
// own, so a restarted or new proxy gets the users within one stats period.
import { createHash } from 'node:crypto';

/** '' for no lines; else 16 hex chars of SHA-256 over the lines joined by newlines. */
export function aclDigest(lines: readonly string[]): string {
  return lines.length === 0 ? '' : createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

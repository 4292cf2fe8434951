// Keeps the client users of every Shardis proxy in step with the dashboard's acl_users / acl_file
// (issue 15: "users come from the proxy config and from the dashboard, pushed like the slot table").
// After every stats round, a proxy that answered and reports an acl_digest other than the digest of
// the dashboard's lines is sent them (PUT /api/proxy/acl): a new proxy, a restarted one, or all of
// them after the dashboard's lines changed. Proxies that report no acl_digest (Codis proxies) get
// nothing. A refused set (a user the proxy also defines itself) is logged, and tried again next round.
import type { Logger } from '../util/log.js';
import type { ProxyModel } from '../models/proxy.js';
import type { ProxyClient } from './proxy-client.js';
import type { RuntimeState } from './proxy-sync.js';
import { aclDigest } from '../acl/digest.js';

export interface AclPushHost {
  readonly log: Logger;
  proxies(): Iterable<ProxyModel>;
  state(token: string): RuntimeState;
  client(p: ProxyModel): ProxyClient;
}

export class AclPush {
  private readonly digest: string;
  /** token → the last refusal logged, so a proxy that keeps refusing logs once per reason. */
  private readonly refused = new Map<string, string>();

  constructor(
    private readonly h: AclPushHost,
    private readonly lines: readonly string[],
  ) {
    this.digest = aclDigest(lines);
  }

  /** Pushes the lines to every answering proxy whose digest differs; never throws. */
  async sync(): Promise<void> {
    await Promise.all(
      [...this.h.proxies()].map(async (p) => {
        const r = this.h.state(p.token);
        const have = r.error ? undefined : r.stats?.acl_digest;
        if (typeof have !== 'string' || have === this.digest) return;
        try {
          await this.h.client(p).setAcl([...this.lines]);
          this.refused.delete(p.token);
          this.h.log.info({ proxy: p.token, users: this.lines.length }, 'client users (acl_users) pushed to the proxy');
        } catch (e) {
          const msg = (e as Error).message;
          if (this.refused.get(p.token) !== msg) this.h.log.warn({ proxy: p.token, err: msg }, 'client users push refused by the proxy');
          this.refused.set(p.token, msg);
        }
      }),
    );
  }
}

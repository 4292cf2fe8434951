// The filesystem coordinator's lock shared with Codis: Codis 3.2's fs client takes
// flock(LOCK_EX|LOCK_NB) on `<root>/data.lck` around every write, so a Shardis writer must hold the
// same flock for a Codis tool (codis-admin --config-restore, a Codis dashboard) and Shardis to
// exclude each other. Node has no flock(2): a small helper process (perl, from Debian's essential
// perl-base) keeps `data.lck` open and takes or drops the flock on request over its stdin/stdout, so
// the lock belongs to this store's open file and the kernel drops it if this process dies. Each
// acquire is one pipe round trip (no process started per write); the helper starts on first use.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const HELPER = `
use strict; use Fcntl qw(:flock); $| = 1;
open(my $fh, '>>', $ARGV[0]) or do { print "E $!\\n"; exit 1 };
print "R\\n";
while (my $l = <STDIN>) {
  if ($l =~ /^T/) { print(flock($fh, LOCK_EX | LOCK_NB) ? "1\\n" : "0\\n"); }
  elsif ($l =~ /^U/) { flock($fh, LOCK_UN); print "U\\n"; }
}
`;

export class FlockError extends Error {
  override readonly name = 'FlockError';
}

type Helper = ChildProcessByStdio<Writable, Readable, null>;

export class DataFileLock {
  private child: Helper | null = null;
  private ready: Promise<void> | null = null;
  private readonly waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private buf = '';
  private dead: Error | null = null;
  private closed = false;

  constructor(readonly file: string) {}

  private start(): Promise<void> {
    if (this.dead && !this.closed) {
      // The helper died (killed, or perl failed): a new one is started for the next request.
      this.dead = null;
      this.ready = null;
      this.child = null;
      this.buf = '';
    }
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      let child: Helper;
      try {
        child = spawn('perl', ['-e', HELPER, this.file], { stdio: ['pipe', 'pipe', 'ignore'] });
      } catch (e) {
        reject(new FlockError(`cannot start the flock helper (perl) for ${this.file}: ${(e as Error).message}`));
        return;
      }
      this.child = child;
      // Idle, the helper must not keep this process alive; while a request waits it must (hold()).
      this.hold(true);
      const fail = (why: string): void => {
        if (this.child !== child) return; // an earlier helper, already replaced
        this.dead ??= new FlockError(`the flock helper for ${this.file} ${why}`);
        for (const w of this.waiting.splice(0)) w.reject(this.dead);
        reject(this.dead);
      };
      child.on('error', (e) => fail(`could not run (is perl installed?): ${e.message}`));
      child.on('exit', (code, sig) => fail(`exited (${sig ?? code})`));
      child.stdin.on('error', () => {
        /* reported by exit */
      });
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        if (this.child !== child) return;
        this.buf += d;
        let nl: number;
        while ((nl = this.buf.indexOf('\n')) >= 0) {
          const line = this.buf.slice(0, nl);
          this.buf = this.buf.slice(nl + 1);
          if (line === 'R') {
            if (this.waiting.length === 0) this.hold(false);
            resolve();
            continue;
          }
          if (line.startsWith('E ')) {
            fail(`cannot open it: ${line.slice(2)}`);
            continue;
          }
          this.waiting.shift()?.resolve(line);
          if (this.waiting.length === 0) this.hold(false);
        }
      });
    });
    return this.ready;
  }

  /** Refs (keeps the event loop alive for) or unrefs the helper and its output pipe. */
  private hold(on: boolean): void {
    const c = this.child;
    if (!c) return;
    const out = c.stdout as Readable & { ref?: () => void; unref?: () => void };
    if (on) {
      c.ref();
      out.ref?.();
    } else {
      c.unref();
      out.unref?.();
    }
  }

  private async ask(cmd: 'T' | 'U'): Promise<string> {
    const starting = this.start();
    this.hold(true);
    await starting;
    if (this.dead) throw this.dead;
    const child = this.child;
    if (!child) throw new FlockError('flock helper not running');
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.hold(true);
      child.stdin.write(`${cmd}\n`);
    });
  }

  /** The helper's pid while it runs (for tests and diagnostics). */
  get helperPid(): number | undefined {
    return this.child?.pid;
  }

  /** Takes the flock, retrying until `deadline` (ms since epoch); throws FlockError when it stays held. */
  async acquire(deadline: number): Promise<void> {
    let backoff = 2;
    for (;;) {
      if (this.closed) throw new FlockError(`${this.file}: store closed`);
      if ((await this.ask('T')) === '1') return;
      if (Date.now() > deadline) {
        throw new FlockError(
          `${this.file} stayed flocked by another process (a Codis tool or dashboard writing this coordinator directory?)`,
        );
      }
      await new Promise((r) => setTimeout(r, backoff + Math.random() * backoff));
      backoff = Math.min(backoff * 2, 50);
    }
  }

  async release(): Promise<void> {
    if (this.dead || !this.child) return;
    await this.ask('U');
  }

  /** Stops the helper (which drops any flock it holds). */
  close(): void {
    this.closed = true;
    const c = this.child;
    this.child = null;
    for (const w of this.waiting.splice(0)) w.reject(new FlockError(`${this.file}: store closed`));
    if (c && c.exitCode === null) {
      c.stdin.end();
      c.kill('SIGTERM');
    }
  }
}

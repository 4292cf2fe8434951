// A minimal RESP test client over a raw socket: send exact bytes, read back whole replies (framed
// with the proxy's own scanner), and observe the connection closing.
import net from 'node:net';
import { scanReply } from '../../src/resp/reply-scanner.js';
import { encodeCommand } from '../../src/resp/encode.js';

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.closedPromise = new Promise((r) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        r();
      }),
    );
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }
  send(...args: Array<string | Buffer>): void {
    this.socket.write(encodeCommand(args));
  }

  /** The next complete reply as a string (latin1), waiting up to timeoutMs. */
  async read(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const end = this.buf.length ? scanReply(this.buf, 0) : -1;
      if (end > 0) {
        const r = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(end);
        return r;
      }
      if (this.closed) throw new Error(`connection closed (unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no reply within ${timeoutMs} ms (have: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async call(...args: Array<string | Buffer>): Promise<string> {
    this.send(...args);
    return this.read();
  }

  close(): void {
    this.socket.destroy();
  }
}

// A first-in first-out queue on a ring buffer: push and shift without moving or re-allocating the
// items (an array with a moving head re-allocates as it grows and when it is compacted, which at a
// backend connection's rate of requests is steady garbage). Grows by doubling; a queue that grew
// past KEEP slots goes back to a small ring once it is empty, so a burst's memory is not kept.

const MIN = 16;
/** Rings up to this many slots are kept when the queue empties. */
const KEEP = 1024;

export class Fifo<T> {
  private ring: Array<T | undefined> = new Array<T | undefined>(MIN);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    const ring = this.ring;
    if (this.size === ring.length) {
      this.grow();
      this.push(item);
      return;
    }
    ring[(this.head + this.size) & (ring.length - 1)] = item;
    this.size++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const ring = this.ring;
    const item = ring[this.head];
    ring[this.head] = undefined;
    this.head = (this.head + 1) & (ring.length - 1);
    if (--this.size === 0) {
      this.head = 0;
      if (ring.length > KEEP) this.ring = new Array<T | undefined>(MIN);
    }
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let x = this.shift(); x !== undefined; x = this.shift()) out.push(x);
    return out;
  }

  private grow(): void {
    const old = this.ring,
      n = old.length;
    const ring = new Array<T | undefined>(n * 2);
    for (let i = 0; i < n; i++) ring[i] = old[(this.head + i) & (n - 1)];
    this.ring = ring;
    this.head = 0;
  }
}

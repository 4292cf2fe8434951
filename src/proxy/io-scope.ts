// The extent of one socket read callback (a client's or a backend's), which the request path treats
// as its unit of work: replies queued during it are written when it ends (output-flusher.ts; not by a
// microtask, since Node's queueMicrotask allocates an AsyncResource and a bound function per call,
// about one per request at pipeline 1), and the clock is read once at its start. Reading the clock
// allocates a number on the heap each time, and at pipeline 1 every allocation per request is
// scavenge work that each request in flight waits out (bench/reports/proxy-speed-*.md). Timers and
// promise continuations run outside any read callback and read the clock themselves.

/** What runs once the outermost read callback ends. */
export interface AtIoEnd {
  run(): void;
}

let depth = 0;
/** performance.now() when the outermost read callback began. */
let began = 0;
/** Date.now() - performance.now(), measured again once a second (the wall clock can be set). */
let wallOffset = Date.now() - performance.now();
let rebaseAt = 0;
/** atEnd[0, atEndCount) are set; the array keeps its slots (emptying it would drop its backing store). */
const atEnd: Array<AtIoEnd | null> = [];
let atEndCount = 0;

/** A read callback starts. Pair with endIo() in a finally block. */
export function beginIo(): void {
  if (depth++ === 0) {
    began = performance.now();
    if (began >= rebaseAt) {
      wallOffset = Date.now() - began;
      rebaseAt = began + 1000;
    }
  }
}

/** The read callback ends: runs what was registered with runAtIoEnd (also what those register). */
export function endIo(): void {
  if (depth > 1) {
    depth--;
    return;
  }
  let failure: Error | null = null;
  for (let i = 0; i < atEndCount; i++) {
    const f = atEnd[i] as AtIoEnd; // hot path: i < atEndCount
    atEnd[i] = null;
    try {
      f.run();
    } catch (e) {
      // The others still run: a flusher left out would never be scheduled again.
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  atEndCount = 0;
  depth = 0;
  if (failure !== null) throw failure;
}

/** Whether a read callback is running (runAtIoEnd may be used). */
export function inIo(): boolean {
  return depth > 0;
}

/** Runs `f` once the current read callback ends (only while inIo()). */
export function runAtIoEnd(f: AtIoEnd): void {
  atEnd[atEndCount++] = f;
}

/** performance.now() as of the start of the current read callback, or now outside of one. */
export function ioNow(): number {
  return depth > 0 ? began : performance.now();
}

/** Date.now() as of the start of the current read callback (within a second's drift), or now outside of one. */
export function ioWallClock(): number {
  return depth > 0 ? wallOffset + began : Date.now();
}

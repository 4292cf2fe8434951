// Closed-loop load generator that records every request's send time and latency, to tell a tail
// made of stalls (every connection slow in the same millisecond: a GC pause, a long turn) from one
// made of ordering (a few connections slow at different times). redis-benchmark only prints the
// histogram. Loopback only (127.0.0.1); bounded by the request count and a 5 s idle timeout.
//
//   cc -O2 -o /tmp/latency-trace bench/tools/latency-trace.c
//   taskset -c 0 /tmp/latency-trace PORT CONNS REQUESTS MODE OUT.txt   # MODE: 0 GET, 1 SET, 2 MGET, 3 MSET (10 keys)
//   python3 bench/tools/tail-windows.py OUT.txt
//
// OUT.txt: one line per request: connection, send time (µs from start), latency (µs).
// OUT.txt.start: the start, CLOCK_MONOTONIC µs (gc-overlap.py lines requests up with GC pauses).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  char buf[65536];
  int len;
  double sent;
  long idx;
} conn_t;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Bytes of the complete RESP reply at p, or 0 if it is not complete yet. */
static int frame(const char *p, int n) {
  if (n <= 0) return 0;
  const char *e = memchr(p, '\n', n);
  if (!e) return 0;
  int hl = (int)(e - p) + 1;
  long v = atol(p + 1);
  switch (p[0]) {
    case '+': case '-': case ':': return hl;
    case '$': return v < 0 ? hl : (n < hl + v + 2 ? 0 : hl + (int)v + 2);
    case '*': {
      int off = hl;
      for (long i = 0; i < v; i++) {
        int k = frame(p + off, n - off);
        if (!k) return 0;
        off += k;
      }
      return off;
    }
  }
  fprintf(stderr, "unexpected reply type %c\n", p[0]);
  exit(1);
}

static char req[4096];
static int reqlen, mode;
static unsigned seed = 12345;

static void make_request(void) {
  int keys = mode >= 2 ? 10 : 1, values = mode == 1 || mode == 3;
  const char *cmd = mode == 0 ? "GET" : mode == 1 ? "SET" : mode == 2 ? "MGET" : "MSET";
  char *q = req;
  q += sprintf(q, "*%d\r\n$%d\r\n%s\r\n", 1 + keys * (values ? 2 : 1), (int)strlen(cmd), cmd);
  for (int i = 0; i < keys; i++) {
    seed = seed * 1103515245 + 12345;
    q += sprintf(q, "$16\r\nkey:%012u\r\n", (seed >> 8) % 100000);
    if (values) q += sprintf(q, "$3\r\nxxx\r\n");
  }
  reqlen = (int)(q - req);
}

static void send_next(conn_t *c, long idx) {
  make_request();
  c->sent = now_us();
  c->idx = idx;
  if (write(c->fd, req, reqlen) != reqlen) { perror("write"); exit(1); }
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: %s PORT CONNS REQUESTS MODE OUT\n", argv[0]); return 2; }
  int port = atoi(argv[1]), nc = atoi(argv[2]);
  long total = atol(argv[3]);
  mode = atoi(argv[4]);
  if (nc < 1 || nc > 1000 || total < 1 || total > 50000000 || mode < 0 || mode > 3) { fprintf(stderr, "bad arguments\n"); return 2; }
  double *lat = malloc(sizeof(double) * total * 2);
  int *who = malloc(sizeof(int) * total);
  conn_t *cs = calloc(nc, sizeof(conn_t));
  int ep = epoll_create1(0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  for (int i = 0; i < nc; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(fd, (void *)&a, sizeof a)) { perror("connect"); return 1; }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    cs[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  long issued = 0, done = 0;
  double start = now_us();
  for (int i = 0; i < nc && issued < total; i++) send_next(&cs[i], issued++);
  struct epoll_event evs[256];
  while (done < total) {
    int n = epoll_wait(ep, evs, 256, 5000);
    if (n <= 0) { fprintf(stderr, "no reply for 5 s after %ld replies\n", done); break; }
    for (int j = 0; j < n; j++) {
      conn_t *c = &cs[evs[j].data.u32];
      int r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
      if (r <= 0) { fprintf(stderr, "connection closed\n"); return 1; }
      c->len += r;
      int k = frame(c->buf, c->len);
      if (!k) continue;
      lat[c->idx * 2] = c->sent - start;
      lat[c->idx * 2 + 1] = now_us() - c->sent;
      who[c->idx] = (int)evs[j].data.u32;
      done++;
      memmove(c->buf, c->buf + k, c->len - k);
      c->len -= k;
      if (issued < total) send_next(c, issued++);
    }
  }
  double secs = (now_us() - start) / 1e6;
  fprintf(stderr, "%ld requests in %.3f s = %.0f ops/s\n", done, secs, done / secs);
  FILE *f = fopen(argv[5], "w");
  if (!f) { perror("open"); return 1; }
  for (long i = 0; i < done; i++) fprintf(f, "%d %.1f %.1f\n", who[i], lat[i * 2], lat[i * 2 + 1]);
  fclose(f);
  // OUT.txt.start: the start as CLOCK_MONOTONIC µs, to line requests up with gc-log.mjs's events.
  char path[4096];
  snprintf(path, sizeof path, "%s.start", argv[5]);
  FILE *g = fopen(path, "w");
  if (!g) { perror("open"); return 1; }
  fprintf(g, "%.0f\n", start);
  fclose(g);
  return 0;
}

/*
 * timewait's lwIP adapter: Debian's liblwip (lwIP 2.1.3) behind the external-stack protocol
 * (docs/external-stack.md), one JSON object per line on stdin and stdout.
 *
 * lwIP is one global stack per process, so each simulated host runs in its own worker process,
 * forked from a supervisor that has not initialised lwIP yet: every host of every run starts
 * from lwIP's pristine state, and a run replays exactly. The supervisor routes each request to
 * its host's worker by the "host" field and relays the one reply line.
 *
 * A worker starts no tcpip thread and never reads a clock: it holds the core lock itself
 * (sys_init, sys_mutex_new(&lock_tcpip_core), sys_lock_tcpip_core, lwip_init), gives lwIP one
 * netif whose output hands IP datagrams back to the harness, calls tcp_tmr() every 250 ms of
 * virtual time when the harness advances it, uses the raw TCP API for socket calls, and seeds
 * lwIP's random source (LWIP_RAND is rand() in Debian's port) from the run's seed and the host.
 * lwIP reports no state changes, so after every request the worker walks lwIP's pcb lists and
 * reports what changed. What lwIP cannot do is in README.md beside this file.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwip/init.h>
#include <lwip/ip.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/sys.h>
#include <lwip/tcp.h>
#include <lwip/priv/tcp_priv.h>

extern sys_mutex_t lock_tcpip_core;

#define TICK_US 250000LL
#define MAX_HOSTS 64

/* ---------------------------------------------------------------------------------------- */
/* Small utilities: growable text, JSON field lookup, base64                                 */
/* ---------------------------------------------------------------------------------------- */

typedef struct { char *data; size_t len, cap; } text_t;

static void text_reserve(text_t *t, size_t extra) {
  if (t->len + extra + 1 <= t->cap) return;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->len + extra + 1) cap *= 2;
  t->data = realloc(t->data, cap);
  if (!t->data) { perror("realloc"); exit(1); }
  t->cap = cap;
}

static void text_add(text_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  int need = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  text_reserve(t, (size_t)need);
  vsnprintf(t->data + t->len, (size_t)need + 1, fmt, ap);
  t->len += (size_t)need;
  va_end(ap);
}

/* The value after "key": in a flat JSON object (our requests have no escapes in strings). */
static const char *json_field(const char *line, const char *key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *at = strstr(line, pattern);
  return at ? at + strlen(pattern) : NULL;
}

static long long json_int(const char *line, const char *key, long long fallback) {
  const char *v = json_field(line, key);
  if (!v || (*v != '-' && (*v < '0' || *v > '9'))) return fallback;
  return strtoll(v, NULL, 10);
}

static int json_bool(const char *line, const char *key) {
  const char *v = json_field(line, key);
  return v && strncmp(v, "true", 4) == 0;
}

/* Copies a string value into out (NUL-terminated); returns its length or -1. */
static long json_string(const char *line, const char *key, char *out, size_t cap) {
  const char *v = json_field(line, key);
  if (!v || *v != '"') return -1;
  const char *end = strchr(v + 1, '"');
  if (!end) return -1;
  size_t n = (size_t)(end - v - 1);
  if (n + 1 > cap) return -1;
  memcpy(out, v + 1, n);
  out[n] = 0;
  return (long)n;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_add(text_t *t, const uint8_t *bytes, size_t n) {
  text_reserve(t, (n + 2) / 3 * 4);
  char *o = t->data + t->len;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
    *o++ = B64[v >> 18]; *o++ = B64[(v >> 12) & 63]; *o++ = B64[(v >> 6) & 63]; *o++ = B64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < n ? (uint32_t)bytes[i + 1] << 8 : 0);
    *o++ = B64[v >> 18]; *o++ = B64[(v >> 12) & 63];
    *o++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  t->len = (size_t)(o - t->data);
  t->data[t->len] = 0;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes the base64 string value of key into a malloc'd buffer. */
static uint8_t *json_base64(const char *line, const char *key, size_t *out_len) {
  const char *v = json_field(line, key);
  *out_len = 0;
  if (!v || *v != '"') return NULL;
  v++;
  const char *end = strchr(v, '"');
  if (!end) return NULL;
  uint8_t *out = malloc((size_t)(end - v) / 4 * 3 + 3);
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (const char *p = v; p < end; p++) {
    int x = b64_value(*p);
    if (x < 0) continue;
    acc = acc << 6 | (uint32_t)x;
    bits += 6;
    if (bits >= 8) { bits -= 8; out[n++] = (uint8_t)(acc >> bits); }
  }
  *out_len = n;
  return out;
}

/* ---------------------------------------------------------------------------------------- */
/* The worker: one host's lwIP                                                               */
/* ---------------------------------------------------------------------------------------- */

static const char *STATE_NAMES[] = {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"};

typedef struct conn {
  int handle;
  struct tcp_pcb *pcb; /* NULL once lwIP freed it */
  int state;           /* as last reported */
  u16_t local_port, remote_port;
  u32_t remote_ip;     /* host byte order */
  int passive;
  int fd;              /* the descriptor reaching it, or -1 */
  int listener_fd;     /* a passive child not yet accept()ed: its listener */
  uint8_t *rx; size_t rx_len, rx_cap; /* received, not yet read (not yet tcp_recved) */
  int eof;
  const char *error;   /* the errno the application sees next */
  int reuse, linger_on, linger_sec;
  u32_t rcv_nxt, lastack, tmr, rcv_wnd; /* to tell which segment the connection acted on */
  u32_t sent_high;     /* highest sequence end sent, to mark retransmissions */
  int sent_any;
  int announced;
} conn_t;

enum sock_kind { S_FREE, S_FRESH, S_BOUND, S_LISTEN, S_CONN };

typedef struct {
  enum sock_kind kind;
  struct tcp_pcb *pcb; /* fresh, bound or listening */
  conn_t *conn;
  int reuse, linger_on, linger_sec;
  int read_closed;
  u16_t port;
  int queue[256]; int queue_len; /* accept queue: conn handles */
} sock_t;

static struct netif host_netif;
static u32_t host_ip;
static long long now_us;
static long long tick_at = -1;
static int host_up = 1;
static text_t ev;
static int ev_count;
static conn_t **conns; static int conn_count, conn_cap;
static int next_handle = 1;
static sock_t *socks; static int sock_cap;
static int next_fd = 3;
static const uint8_t *input_bytes; /* the datagram of a segment request */
static u16_t input_sport, input_dport; static u32_t input_src;
static u32_t input_seq, input_len; static u8_t input_flags;
/* The connection `accepted` was already reported for, in this segment request (or -1). */
static int input_accepted = -1;

static int is_input_conn(const conn_t *c) {
  return input_bytes && c->local_port == input_dport && c->remote_port == input_sport && c->remote_ip == input_src;
}

static void report_accepted(conn_t *c);

/* RFC 9293 §3.10.7.4's acceptability test against the window before the segment arrived. */
static int acceptable(u32_t rcv_nxt, u32_t wnd) {
  if (input_len == 0) return wnd == 0 ? input_seq == rcv_nxt : (u32_t)(input_seq - rcv_nxt) < wnd;
  if (wnd == 0) return 0;
  return (u32_t)(input_seq - rcv_nxt) < wnd || (u32_t)(input_seq + input_len - 1 - rcv_nxt) < wnd;
}

static void ev_begin(void) { text_add(&ev, ev_count++ ? "," : ""); }

static conn_t *conn_by_handle(int handle) {
  for (int i = 0; i < conn_count; i++) if (conns[i]->handle == handle) return conns[i];
  return NULL;
}

static conn_t *conn_by_pcb(struct tcp_pcb *pcb) {
  for (int i = 0; i < conn_count; i++) if (conns[i]->pcb == pcb) return conns[i];
  return NULL;
}

static conn_t *conn_by_tuple(u16_t lport, u32_t rip, u16_t rport) {
  for (int i = conn_count - 1; i >= 0; i--) {
    conn_t *c = conns[i];
    if (c->pcb && c->local_port == lport && c->remote_ip == rip && c->remote_port == rport) return c;
  }
  return NULL;
}

static void announce(conn_t *c) {
  if (c->announced) return;
  c->announced = 1;
  ev_begin();
  if (c->linger_on) text_add(&ev, "[\"conn\",%d,%u,%u,%u,%d,%d,%d]", c->handle, c->local_port, c->remote_ip, c->remote_port, c->passive, c->reuse, c->linger_sec);
  else text_add(&ev, "[\"conn\",%d,%u,%u,%u,%d,%d,null]", c->handle, c->local_port, c->remote_ip, c->remote_port, c->passive, c->reuse);
}

static conn_t *track(struct tcp_pcb *pcb, int passive) {
  conn_t *c = calloc(1, sizeof *c);
  c->handle = next_handle++;
  c->pcb = pcb;
  c->state = CLOSED;
  c->local_port = pcb->local_port;
  c->remote_port = pcb->remote_port;
  c->remote_ip = lwip_ntohl(ip_2_ip4(&pcb->remote_ip)->addr);
  c->passive = passive;
  /* A listener's child starts from LISTEN, as RFC 9293 Figure 5 draws it. */
  if (passive) c->state = LISTEN;
  c->fd = -1;
  c->listener_fd = -1;
  c->reuse = ip_get_option(pcb, SOF_REUSEADDR) ? 1 : 0;
  c->rcv_nxt = pcb->rcv_nxt; c->lastack = pcb->lastack; c->tmr = pcb->tmr; c->rcv_wnd = pcb->rcv_wnd;
  if (conn_count == conn_cap) { conn_cap = conn_cap ? conn_cap * 2 : 64; conns = realloc(conns, sizeof *conns * (size_t)conn_cap); }
  conns[conn_count++] = c;
  return c;
}

static void wake(int fd) {
  if (fd < 0) return;
  ev_begin();
  text_add(&ev, "[\"wake\",%d]", fd);
}

static void report_state(conn_t *c, int to, const char *cause) {
  if (c->state == to) return;
  announce(c);
  ev_begin();
  text_add(&ev, "[\"state\",%d,\"%s\",\"%s\",\"%s\"]", c->handle, STATE_NAMES[c->state], STATE_NAMES[to], cause);
  c->state = to;
  wake(c->fd);
  wake(c->listener_fd);
}

static sock_t *sock_of(int fd) {
  if (fd < 0 || fd >= sock_cap || socks[fd].kind == S_FREE) return NULL;
  return &socks[fd];
}

static int new_fd(void) {
  int fd = next_fd++;
  if (fd >= sock_cap) {
    int cap = sock_cap ? sock_cap * 2 : 64;
    while (cap <= fd) cap *= 2;
    socks = realloc(socks, sizeof *socks * (size_t)cap);
    memset(socks + sock_cap, 0, sizeof *socks * (size_t)(cap - sock_cap));
    sock_cap = cap;
  }
  memset(&socks[fd], 0, sizeof socks[fd]);
  socks[fd].kind = S_FRESH;
  return fd;
}

/* lwIP callbacks ----------------------------------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)arg; (void)err;
  conn_t *c = conn_by_pcb(pcb);
  if (!c) { if (p) { tcp_recved(pcb, p->tot_len); pbuf_free(p); } return ERR_OK; }
  if (!p) { c->eof = 1; wake(c->fd); return ERR_OK; }
  if (c->rx_len + p->tot_len > c->rx_cap) { c->rx_cap = (c->rx_len + p->tot_len) * 2; c->rx = realloc(c->rx, c->rx_cap); }
  pbuf_copy_partial(p, c->rx + c->rx_len, p->tot_len, 0);
  c->rx_len += p->tot_len;
  pbuf_free(p);
  wake(c->fd);
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)arg; (void)len;
  conn_t *c = conn_by_pcb(pcb);
  if (c) wake(c->fd);
  return ERR_OK;
}

/* lwIP has freed the pcb (RST received, retransmissions given up, or tcp_abort). */
static void on_err(void *arg, err_t err) {
  conn_t *c = arg;
  if (!c) return;
  int was = c->state;
  c->pcb = NULL;
  if (err == ERR_RST) c->error = was == SYN_SENT ? "ECONNREFUSED" : "ECONNRESET";
  else if (err == ERR_ABRT && c->error == NULL && c->fd >= 0) c->error = "ETIMEDOUT";
  report_state(c, CLOSED, err == ERR_RST ? "rcv RST" : "abort");
}

static void report_accepted(conn_t *c) {
  announce(c);
  ev_begin();
  text_add(&ev, "[\"accepted\",%d]", c->handle);
  input_accepted = c->handle;
}

static void watch(conn_t *c) {
  tcp_arg(c->pcb, c);
  tcp_recv(c->pcb, on_recv);
  tcp_sent(c->pcb, on_sent);
  tcp_err(c->pcb, on_err);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)pcb; (void)err;
  conn_t *c = arg;
  if (c) wake(c->fd);
  return ERR_OK;
}

static sock_t *listener_on(u16_t port, int *fd_out) {
  for (int fd = 0; fd < sock_cap; fd++) {
    if (socks[fd].kind == S_LISTEN && socks[fd].port == port) { *fd_out = fd; return &socks[fd]; }
  }
  return NULL;
}

static err_t on_accept(void *arg, struct tcp_pcb *newpcb, err_t err) {
  (void)arg;
  if (err != ERR_OK || !newpcb) return ERR_VAL;
  conn_t *c = conn_by_pcb(newpcb);
  if (!c) { c = track(newpcb, 1); watch(c); }
  int lfd;
  sock_t *l = listener_on(newpcb->local_port, &lfd);
  if (!l || l->queue_len == (int)(sizeof l->queue / sizeof l->queue[0])) { tcp_abort(newpcb); return ERR_ABRT; }
  l->queue[l->queue_len++] = c->handle;
  c->listener_fd = lfd;
  wake(lfd);
  return ERR_OK;
}

/* The netif's output: an IP datagram leaves the host. */
static err_t netif_out(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst) {
  (void)netif; (void)dst;
  uint8_t *bytes = malloc(p->tot_len);
  pbuf_copy_partial(p, bytes, p->tot_len, 0);
  size_t ihl = (size_t)(bytes[0] & 15) * 4;
  int handle = -1, retransmission = 0;
  if (p->tot_len >= ihl + 20 && bytes[9] == 6) {
    const uint8_t *tcp = bytes + ihl;
    u16_t sport = (u16_t)(tcp[0] << 8 | tcp[1]), dport = (u16_t)(tcp[2] << 8 | tcp[3]);
    u32_t dip = (u32_t)bytes[16] << 24 | (u32_t)bytes[17] << 16 | (u32_t)bytes[18] << 8 | bytes[19];
    u32_t seq = (u32_t)tcp[4] << 24 | (u32_t)tcp[5] << 16 | (u32_t)tcp[6] << 8 | tcp[7];
    u8_t flags = tcp[13];
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    u32_t len = (u32_t)(p->tot_len - ihl - doff) + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
    conn_t *c = conn_by_tuple(sport, dip, dport);
    if (!c) {
      /* A pcb that sends before the walk has seen it: a listener's child answering a SYN, or
         a connect whose local port tcp_connect has just chosen. */
      for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb && !c; pcb = pcb->next) {
        if (pcb->local_port == sport && pcb->remote_port == dport && lwip_ntohl(ip_2_ip4(&pcb->remote_ip)->addr) == dip) {
          c = conn_by_pcb(pcb);
          if (c) c->local_port = pcb->local_port;
          else { c = track(pcb, pcb->state == SYN_RCVD); watch(c); }
        }
      }
    }
    /* A segment this one's arrival caused, whose ACK shows lwIP took what arrived (or a new
       child's SYN,ACK): the arrival was accepted, and the trace says so before the answer. */
    if (c && c->handle != input_accepted && is_input_conn(c) && c->pcb && (c->pcb->rcv_nxt != c->rcv_nxt || (c->passive && (input_flags & TCP_SYN)))) report_accepted(c);
    /* lwIP sets a pcb's state before it sends what the change causes (the SYN of tcp_connect,
       the FIN of tcp_close): report the change first, as the trace of any stack reads. */
    /* Not a change to CLOSED: that is an abort, whose RST goes out first (then on_err reports it). */
    if (c && c->pcb && (int)c->pcb->state != c->state && c->pcb->state != CLOSED) report_state(c, c->pcb->state, input_bytes ? "segment" : "call");
    if (c && !(flags & TCP_RST)) {
      announce(c);
      handle = c->handle;
      u32_t end = seq + len;
      if (len > 0 && c->sent_any && (int32_t)(end - c->sent_high) <= 0) retransmission = 1;
      if (!c->sent_any || (int32_t)(end - c->sent_high) > 0) c->sent_high = end;
      c->sent_any = 1;
    } else if (c) {
      announce(c);
      handle = c->handle;
    }
  }
  ev_begin();
  text_add(&ev, "[\"out\",\"");
  base64_add(&ev, bytes, p->tot_len);
  text_add(&ev, "\",%d,%d]", handle, retransmission);
  free(bytes);
  return ERR_OK;
}

static err_t netif_setup(struct netif *netif) {
  netif->name[0] = 't';
  netif->name[1] = 'w';
  netif->output = netif_out;
  netif->mtu = 1500;
  netif->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

/* After every request: what changed in lwIP's pcbs. ------------------------------------------ */

static int pcb_listed(struct tcp_pcb *pcb) {
  for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next) if (p == pcb) return 1;
  for (struct tcp_pcb *p = tcp_tw_pcbs; p; p = p->next) if (p == pcb) return 1;
  return 0;
}

static void walk(void) {
  /* Connections lwIP freed without a callback (TIME-WAIT or LAST-ACK ending, FIN-WAIT-2 timeout). */
  for (int i = 0; i < conn_count; i++) {
    conn_t *c = conns[i];
    if (!c->pcb) continue;
    if (!pcb_listed(c->pcb) || c->pcb->local_port != c->local_port || c->pcb->remote_port != c->remote_port) {
      c->pcb = NULL;
      report_state(c, CLOSED, c->state == TIME_WAIT ? "2MSL timeout" : "closed");
    }
  }
  /* New pcbs: children lwIP made for a SYN to a listener. */
  for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
    if (!conn_by_pcb(pcb)) { conn_t *c = track(pcb, pcb->state == SYN_RCVD); watch(c); }
  }
  for (int i = 0; i < conn_count; i++) {
    conn_t *c = conns[i];
    if (!c->pcb) continue;
    struct tcp_pcb *pcb = c->pcb;
    int acted = pcb->rcv_nxt != c->rcv_nxt || pcb->lastack != c->lastack || (int)pcb->state != c->state;
    /* lwIP keeps an in-window segment that arrived out of order on its ooseq queue: RFC 9293
       calls it acceptable, so it is reported accepted now, not when the gap fills. */
    if (input_bytes && !(input_flags & TCP_RST) && c->state >= ESTABLISHED && c->state <= LAST_ACK && acceptable(c->rcv_nxt, c->rcv_wnd)) acted = 1;
    if (c->state == TIME_WAIT && pcb->state == TIME_WAIT && pcb->tmr != c->tmr) {
      announce(c);
      ev_begin();
      text_add(&ev, "[\"tw-restart\",%d,\"segment in TIME-WAIT\"]", c->handle);
      acted = 1;
    }
    /* The segment of this request was for this connection and moved it: it was accepted. */
    if (acted && is_input_conn(c) && c->handle != input_accepted) report_accepted(c);
    c->rcv_nxt = pcb->rcv_nxt; c->lastack = pcb->lastack; c->tmr = pcb->tmr; c->rcv_wnd = pcb->rcv_wnd;
    if ((int)pcb->state != c->state) {
      const char *cause = input_bytes ? "segment" : "call";
      report_state(c, pcb->state, cause);
    }
  }
  /* The tick: lwIP's TCP timers run only while it has connections (tcp_timer_needed). */
  if ((tcp_active_pcbs || tcp_tw_pcbs) && tick_at < 0 && host_up) {
    tick_at = (now_us / TICK_US + 1) * TICK_US;
    ev_begin();
    text_add(&ev, "[\"tick\",%lld]", tick_at);
  }
}

/* Socket calls ----------------------------------------------------------------------------- */

static void reply_errno(text_t *r, const char *errno_name) { text_add(r, "{\"ok\":false,\"errno\":\"%s\"", errno_name); }

static const char *lwip_errno(err_t err) {
  switch (err) {
    case ERR_USE: return "EADDRINUSE";
    case ERR_MEM: return "EAGAIN";
    case ERR_RTE: return "EADDRNOTAVAIL";
    case ERR_ISCONN: return "EISCONN";
    case ERR_ALREADY: return "EALREADY";
    case ERR_RST: return "ECONNRESET";
    case ERR_CLSD: return "ENOTCONN";
    default: return "EINVAL";
  }
}

static int conn_of_fd(int fd) {
  sock_t *s = sock_of(fd);
  return s && s->conn ? s->conn->handle : -1;
}

static void do_call(const char *line, text_t *r) {
  char call[32], name[32];
  json_string(line, "call", call, sizeof call);
  int fd = (int)json_int(line, "fd", -1);
  sock_t *s = sock_of(fd);
  if (strcmp(call, "socket") == 0) {
    int nfd = new_fd();
    socks[nfd].pcb = tcp_new();
    text_add(r, "{\"ok\":true,\"value\":%d,\"conn\":-1", nfd);
    return;
  }
  if (strcmp(call, "crash") == 0) {
    /* Every connection vanishes without a segment (tcp_abandon without RST). */
    for (int i = 0; i < conn_count; i++) {
      conn_t *c = conns[i];
      if (c->pcb) { struct tcp_pcb *pcb = c->pcb; tcp_arg(pcb, NULL); tcp_err(pcb, NULL); c->pcb = NULL; tcp_abandon(pcb, 0); }
      c->fd = -1; c->listener_fd = -1;
      report_state(c, CLOSED, "host crash");
    }
    for (int i = 0; i < sock_cap; i++) {
      if (socks[i].kind == S_LISTEN) { ev_begin(); text_add(&ev, "[\"listen\",%u,\"LISTEN\",\"CLOSED\"]", socks[i].port); }
      if (socks[i].pcb) tcp_close(socks[i].pcb);
      socks[i].kind = S_FREE; socks[i].pcb = NULL;
    }
    host_up = 0;
    tick_at = -1;
    text_add(r, "{\"ok\":true");
    return;
  }
  if (strcmp(call, "restart") == 0) { host_up = 1; text_add(r, "{\"ok\":true"); return; }
  if (!s) { reply_errno(r, "EBADF"); return; }
  if (strcmp(call, "setsockopt") == 0) {
    json_string(line, "name", name, sizeof name);
    if (strcmp(name, "SO_REUSEADDR") == 0) {
      s->reuse = json_bool(line, "value");
      struct tcp_pcb *pcb = s->pcb ? s->pcb : (s->conn ? s->conn->pcb : NULL);
      if (pcb) { if (s->reuse) ip_set_option(pcb, SOF_REUSEADDR); else ip_reset_option(pcb, SOF_REUSEADDR); }
    } else {
      s->linger_on = json_bool(line, "onoff");
      s->linger_sec = (int)json_int(line, "linger", 0);
      if (s->conn) { s->conn->linger_on = s->linger_on; s->conn->linger_sec = s->linger_sec; }
    }
    text_add(r, "{\"ok\":true,\"conn\":%d", conn_of_fd(fd));
    return;
  }
  if (strcmp(call, "getsockopt") == 0) {
    json_string(line, "name", name, sizeof name);
    if (strcmp(name, "SO_ERROR") == 0) {
      const char *e = s->conn ? s->conn->error : NULL;
      if (s->conn) s->conn->error = NULL;
      if (e) text_add(r, "{\"ok\":true,\"value\":\"%s\"", e); else text_add(r, "{\"ok\":true,\"value\":0");
    } else if (strcmp(name, "SO_REUSEADDR") == 0) text_add(r, "{\"ok\":true,\"value\":%d", s->reuse);
    else if (strcmp(name, "SO_LINGER") == 0) text_add(r, "{\"ok\":true,\"value\":{\"onoff\":%s,\"lingerSec\":%d}", s->linger_on ? "true" : "false", s->linger_sec);
    else if (strcmp(name, "SO_SNDBUF") == 0) text_add(r, "{\"ok\":true,\"value\":%d", TCP_SND_BUF);
    else if (strcmp(name, "SO_RCVBUF") == 0) text_add(r, "{\"ok\":true,\"value\":%d", TCP_WND);
    else if (strcmp(name, "SO_TYPE") == 0) text_add(r, "{\"ok\":true,\"value\":1");
    else { reply_errno(r, "ENOPROTOOPT"); return; }
    text_add(r, ",\"conn\":%d", conn_of_fd(fd));
    return;
  }
  if (strcmp(call, "bind") == 0) {
    if (s->kind != S_FRESH || !s->pcb) { reply_errno(r, "EINVAL"); return; }
    long long port = json_int(line, "port", 0);
    u32_t addr = (u32_t)json_int(line, "addr", 0);
    if (addr != 0 && addr != host_ip) { reply_errno(r, "EADDRNOTAVAIL"); return; }
    ip_addr_t a;
    IP_ADDR4(&a, (addr >> 24) & 255, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
    err_t err = tcp_bind(s->pcb, addr ? &a : IP4_ADDR_ANY, (u16_t)port);
    if (err != ERR_OK) { reply_errno(r, lwip_errno(err)); return; }
    s->kind = S_BOUND;
    s->port = s->pcb->local_port;
    text_add(r, "{\"ok\":true,\"value\":%u,\"conn\":-1", s->port);
    return;
  }
  if (strcmp(call, "listen") == 0) {
    if (s->kind == S_LISTEN) { text_add(r, "{\"ok\":true,\"conn\":-1"); return; }
    if (s->kind == S_FRESH) {
      err_t err = tcp_bind(s->pcb, IP4_ADDR_ANY, 0);
      if (err != ERR_OK) { reply_errno(r, lwip_errno(err)); return; }
      s->port = s->pcb->local_port;
    }
    if (s->kind != S_FRESH && s->kind != S_BOUND) { reply_errno(r, "EINVAL"); return; }
    err_t err = ERR_OK;
    struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(s->pcb, (u8_t)json_int(line, "backlog", 8), &err);
    if (!lpcb) { reply_errno(r, lwip_errno(err)); return; }
    s->pcb = lpcb;
    s->kind = S_LISTEN;
    tcp_arg(lpcb, NULL);
    tcp_accept(lpcb, on_accept);
    ev_begin();
    text_add(&ev, "[\"listen\",%u,\"CLOSED\",\"LISTEN\"]", s->port);
    text_add(r, "{\"ok\":true,\"conn\":-1");
    return;
  }
  if (strcmp(call, "accept") == 0) {
    if (s->kind != S_LISTEN) { reply_errno(r, "EINVAL"); return; }
    while (s->queue_len > 0) {
      conn_t *c = conn_by_handle(s->queue[0]);
      memmove(s->queue, s->queue + 1, sizeof s->queue[0] * (size_t)--s->queue_len);
      if (!c) continue;
      int nfd = new_fd();
      socks[nfd].kind = S_CONN;
      socks[nfd].conn = c;
      socks[nfd].port = c->local_port;
      socks[nfd].reuse = c->reuse;
      socks[nfd].linger_on = s->linger_on; socks[nfd].linger_sec = s->linger_sec;
      c->linger_on = s->linger_on; c->linger_sec = s->linger_sec;
      c->fd = nfd;
      c->listener_fd = -1;
      text_add(r, "{\"ok\":true,\"value\":%d,\"conn\":%d", nfd, c->handle);
      return;
    }
    reply_errno(r, "EAGAIN");
    return;
  }
  if (strcmp(call, "connect") == 0) {
    if (s->kind == S_CONN) { reply_errno(r, s->conn->pcb && s->conn->pcb->state == SYN_SENT ? "EALREADY" : "EISCONN"); return; }
    if (s->kind == S_LISTEN || !s->pcb) { reply_errno(r, "EINVAL"); return; }
    u32_t ip = (u32_t)json_int(line, "ip", 0);
    ip_addr_t a;
    IP_ADDR4(&a, (ip >> 24) & 255, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    struct tcp_pcb *pcb = s->pcb;
    conn_t *c = calloc(1, sizeof *c);
    c->handle = next_handle++;
    c->fd = fd; c->listener_fd = -1;
    c->reuse = s->reuse; c->linger_on = s->linger_on; c->linger_sec = s->linger_sec;
    c->pcb = pcb;
    c->remote_ip = ip; c->remote_port = (u16_t)json_int(line, "port", 0);
    if (conn_count == conn_cap) { conn_cap = conn_cap ? conn_cap * 2 : 64; conns = realloc(conns, sizeof *conns * (size_t)conn_cap); }
    conns[conn_count++] = c;
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    /* tcp_connect picks the local port (when unbound) and sends the SYN through netif_out,
       which needs the connection's 4-tuple: set it from the pcb as soon as it is known. */
    c->local_port = 0;
    err_t err = tcp_connect(pcb, &a, c->remote_port, on_connected);
    c->local_port = pcb->local_port;
    if (err != ERR_OK) { conn_count--; free(c); tcp_arg(pcb, NULL); reply_errno(r, lwip_errno(err)); return; }
    s->kind = S_CONN;
    s->conn = c;
    s->pcb = NULL;
    text_add(r, "{\"ok\":true,\"conn\":%d", c->handle);
    return;
  }
  if (s->kind != S_CONN) {
    if (strcmp(call, "send") == 0) reply_errno(r, "EPIPE");
    else if (strcmp(call, "close") == 0) {
      if (s->kind == S_LISTEN) {
        for (int i = 0; i < s->queue_len; i++) {
          /* Connections nobody accepted are reset (as Linux's inet_csk_listen_stop and lwIP's netconn_drain do). */
          conn_t *c = conn_by_handle(s->queue[i]);
          if (c && c->pcb) { struct tcp_pcb *pcb = c->pcb; c->listener_fd = -1; tcp_abort(pcb); }
        }
        ev_begin();
        text_add(&ev, "[\"listen\",%u,\"LISTEN\",\"CLOSED\"]", s->port);
      }
      if (s->pcb) tcp_close(s->pcb);
      s->kind = S_FREE; s->pcb = NULL;
      wake(fd);
      text_add(r, "{\"ok\":true,\"conn\":-1");
    } else if (strcmp(call, "connect-result") == 0) reply_errno(r, "ENOTCONN");
    else if (strcmp(call, "shutdown") == 0) reply_errno(r, "ENOTCONN");
    else reply_errno(r, "ENOTCONN");
    return;
  }
  conn_t *c = s->conn;
  if (strcmp(call, "connect-result") == 0) {
    if (c->pcb && (c->pcb->state == SYN_SENT || c->pcb->state == SYN_RCVD)) { text_add(r, "{\"ok\":true,\"value\":\"pending\",\"conn\":%d", c->handle); return; }
    if (c->error) { const char *e = c->error; c->error = NULL; reply_errno(r, e); text_add(r, ",\"conn\":%d", c->handle); return; }
    if (!c->pcb) { reply_errno(r, "ECONNREFUSED"); text_add(r, ",\"conn\":%d", c->handle); return; }
    text_add(r, "{\"ok\":true,\"conn\":%d", c->handle);
    return;
  }
  if (strcmp(call, "send") == 0) {
    if (c->error) { const char *e = c->error; c->error = NULL; reply_errno(r, e); return; }
    if (!c->pcb || (c->pcb->state != ESTABLISHED && c->pcb->state != CLOSE_WAIT) || (c->pcb->flags & TF_FIN)) { reply_errno(r, "EPIPE"); return; }
    size_t len;
    uint8_t *data = json_base64(line, "data", &len);
    size_t n = len < tcp_sndbuf(c->pcb) ? len : tcp_sndbuf(c->pcb);
    err_t err = ERR_MEM;
    while (n > 0 && (err = tcp_write(c->pcb, data, (u16_t)(n > 0xffff ? 0xffff : n), TCP_WRITE_FLAG_COPY)) == ERR_MEM) n /= 2;
    free(data);
    if (n == 0 || err != ERR_OK) { reply_errno(r, "EAGAIN"); return; }
    if (n > 0xffff) n = 0xffff;
    tcp_output(c->pcb);
    text_add(r, "{\"ok\":true,\"value\":%zu,\"conn\":%d", n, c->handle);
    return;
  }
  if (strcmp(call, "recv") == 0) {
    size_t max = (size_t)json_int(line, "max", 65536);
    if (s->read_closed) { text_add(r, "{\"ok\":true,\"value\":\"\",\"conn\":%d", c->handle); return; }
    if (c->rx_len > 0) {
      size_t n = c->rx_len < max ? c->rx_len : max;
      text_add(r, "{\"ok\":true,\"value\":\"");
      base64_add(r, c->rx, n);
      text_add(r, "\",\"conn\":%d", c->handle);
      memmove(c->rx, c->rx + n, c->rx_len - n);
      c->rx_len -= n;
      /* Only now does lwIP open its window again: unread data keeps it shut, as in a socket. */
      if (c->pcb) tcp_recved(c->pcb, (u16_t)n);
      return;
    }
    if (c->eof) { text_add(r, "{\"ok\":true,\"value\":\"\",\"conn\":%d", c->handle); return; }
    if (c->error) { const char *e = c->error; c->error = NULL; reply_errno(r, e); return; }
    if (!c->pcb) { text_add(r, "{\"ok\":true,\"value\":\"\",\"conn\":%d", c->handle); return; }
    reply_errno(r, "EAGAIN");
    return;
  }
  if (strcmp(call, "shutdown") == 0) {
    char how[16];
    json_string(line, "how", how, sizeof how);
    if (!c->pcb || c->pcb->state == SYN_SENT) { reply_errno(r, "ENOTCONN"); return; }
    if (strcmp(how, "SHUT_WR") != 0) s->read_closed = 1;
    if (strcmp(how, "SHUT_RD") != 0) tcp_shutdown(c->pcb, 0, 1);
    text_add(r, "{\"ok\":true,\"conn\":%d", c->handle);
    return;
  }
  if (strcmp(call, "close") == 0) {
    c->fd = -1;
    if (c->pcb) {
      struct tcp_pcb *pcb = c->pcb;
      if (c->linger_on && c->linger_sec == 0) {
        /* SO_LINGER{1,0}: the raw API's only abortive close is tcp_abort (RST). */
        tcp_abort(pcb);
      } else {
        tcp_recv(pcb, NULL);
        tcp_sent(pcb, NULL);
        if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
      }
    }
    s->kind = S_FREE;
    wake(fd);
    text_add(r, "{\"ok\":true,\"conn\":%d", c->handle);
    return;
  }
  reply_errno(r, "EINVAL");
}

static void worker_init(unsigned seed, const char *name, u32_t ip) {
  /* LWIP_RAND() is rand() in Debian's port: lwIP's random local ports come from the run's seed. */
  unsigned mix = seed;
  for (const char *p = name; *p; p++) mix = mix * 31u + (unsigned char)*p;
  srand(mix);
  sys_init();
  sys_mutex_new(&lock_tcpip_core);
  sys_lock_tcpip_core();
  lwip_init();
  ip4_addr_t addr, mask, gw;
  IP4_ADDR(&addr, (ip >> 24) & 255, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  IP4_ADDR(&mask, 255, 0, 0, 0);
  IP4_ADDR(&gw, 0, 0, 0, 0);
  netif_add(&host_netif, &addr, &mask, &gw, NULL, netif_setup, ip_input);
  netif_set_default(&host_netif);
  netif_set_up(&host_netif);
  netif_set_link_up(&host_netif);
  host_ip = ip;
}

/* Handle one request line; returns the reply (without newline). */
static void worker_handle(const char *line, text_t *r) {
  char op[16];
  json_string(line, "op", op, sizeof op);
  ev.len = 0; ev_count = 0;
  if (ev.data) ev.data[0] = 0;
  input_bytes = NULL;
  input_accepted = -1;
  long long now = json_int(line, "now", now_us);
  if (now > now_us) now_us = now;
  if (strcmp(op, "host") == 0) {
    text_add(r, "{\"ok\":true");
  } else if (strcmp(op, "call") == 0) {
    do_call(line, r);
  } else if (strcmp(op, "segment") == 0) {
    size_t len;
    uint8_t *bytes = json_base64(line, "bytes", &len);
    if (host_up && len >= 40) {
      size_t ihl = (size_t)(bytes[0] & 15) * 4;
      input_bytes = bytes;
      input_src = (u32_t)bytes[12] << 24 | (u32_t)bytes[13] << 16 | (u32_t)bytes[14] << 8 | bytes[15];
      input_sport = (u16_t)(bytes[ihl] << 8 | bytes[ihl + 1]);
      input_dport = (u16_t)(bytes[ihl + 2] << 8 | bytes[ihl + 3]);
      input_seq = (u32_t)bytes[ihl + 4] << 24 | (u32_t)bytes[ihl + 5] << 16 | (u32_t)bytes[ihl + 6] << 8 | bytes[ihl + 7];
      input_flags = bytes[ihl + 13];
      input_len = (u32_t)(len - ihl - (size_t)(bytes[ihl + 12] >> 4) * 4) + ((input_flags & TCP_SYN) ? 1 : 0) + ((input_flags & TCP_FIN) ? 1 : 0);
      struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
      pbuf_take(p, bytes, (u16_t)len);
      if (host_netif.input(p, &host_netif) != ERR_OK) pbuf_free(p);
    }
    text_add(r, "{");
    walk();
    free(bytes);
    input_bytes = NULL;
    goto done;
  } else if (strcmp(op, "advance") == 0) {
    if (tick_at >= 0 && now_us >= tick_at) {
      tick_at = -1;
      if (host_up) tcp_tmr();
    }
    text_add(r, "{");
  } else if (strcmp(op, "timer") == 0) {
    text_add(r, "{");
  } else {
    text_add(r, "{\"error\":\"unknown op\"");
  }
  walk();
done:
  if (ev_count > 0) {
    if (r->len > 1) text_add(r, ",");
    text_add(r, "\"ev\":[%s]", ev.data);
  }
  text_add(r, "}");
}

/* ---------------------------------------------------------------------------------------- */
/* Lines in and out                                                                          */
/* ---------------------------------------------------------------------------------------- */

typedef struct { int fd; char *buf; size_t start, end, cap; } reader_t;

/* The next line (NUL-terminated, newline removed), or NULL at end of file. */
static char *read_line(reader_t *rd) {
  for (;;) {
    char *nl = rd->end > rd->start ? memchr(rd->buf + rd->start, '\n', rd->end - rd->start) : NULL;
    if (nl) {
      *nl = 0;
      char *line = rd->buf + rd->start;
      rd->start = (size_t)(nl - rd->buf) + 1;
      return line;
    }
    if (rd->start > 0) { memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start); rd->end -= rd->start; rd->start = 0; }
    if (rd->end + 1 >= rd->cap) { rd->cap = rd->cap ? rd->cap * 2 : 1 << 16; rd->buf = realloc(rd->buf, rd->cap); }
    ssize_t got = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return NULL;
    rd->end += (size_t)got;
  }
}

static void write_all(int fd, const char *data, size_t n) {
  while (n > 0) {
    ssize_t put = write(fd, data, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) exit(1);
    data += put;
    n -= (size_t)put;
  }
}

static void worker_main(int in, int out, unsigned seed, const char *first_line) {
  char name[128] = "";
  json_string(first_line, "name", name, sizeof name);
  worker_init(seed, name, (u32_t)json_int(first_line, "ip", 0));
  reader_t rd = {in, NULL, 0, 0, 0};
  text_t reply = {0};
  const char *line = first_line;
  for (;;) {
    reply.len = 0;
    worker_handle(line, &reply);
    text_add(&reply, "\n");
    write_all(out, reply.data, reply.len);
    line = read_line(&rd);
    if (!line) _exit(0);
  }
}

typedef struct { pid_t pid; int to, from; reader_t rd; } worker_t;

static worker_t workers[MAX_HOSTS];
static int worker_count;

static void stop_workers(void) {
  for (int i = 0; i < worker_count; i++) {
    close(workers[i].to);
    close(workers[i].from);
    kill(workers[i].pid, SIGKILL);
    waitpid(workers[i].pid, NULL, 0);
    free(workers[i].rd.buf);
  }
  worker_count = 0;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  reader_t in = {0, NULL, 0, 0, 0};
  unsigned seed = 0;
  char *line;
  text_t out = {0};
  while ((line = read_line(&in)) != NULL) {
    char op[16] = "";
    json_string(line, "op", op, sizeof op);
    out.len = 0;
    if (strcmp(op, "init") == 0) {
      stop_workers();
      seed = (unsigned)json_int(line, "seed", 0);
      text_add(&out, "{\"ok\":true,\"name\":\"lwIP %d.%d.%d (Debian liblwip, raw API, one process per host)\"}\n", LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION);
    } else if (strcmp(op, "host") == 0) {
      int index = (int)json_int(line, "host", -1);
      if (index != worker_count || worker_count == MAX_HOSTS) {
        text_add(&out, "{\"error\":\"host %d out of order or too many hosts\"}\n", index);
      } else {
        int to[2], from[2];
        if (pipe(to) != 0 || pipe(from) != 0) { perror("pipe"); return 1; }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
          /* The worker speaks only through its pipes: the harness sees end-of-file on stdout
             as soon as the supervisor is gone. */
          close(0); close(1);
          close(to[1]); close(from[0]);
          for (int i = 0; i < worker_count; i++) { close(workers[i].to); close(workers[i].from); }
          worker_main(to[0], from[1], seed, line);
        }
        close(to[0]); close(from[1]);
        worker_t *w = &workers[worker_count++];
        w->pid = pid; w->to = to[1]; w->from = from[0];
        memset(&w->rd, 0, sizeof w->rd);
        w->rd.fd = from[0];
        char *reply = read_line(&w->rd);
        if (!reply) { fprintf(stderr, "lwip worker for host %d died\n", index); return 1; }
        text_add(&out, "%s\n", reply);
      }
    } else {
      int index = (int)json_int(line, "host", -1);
      if (index < 0 || index >= worker_count) {
        text_add(&out, "{\"error\":\"no host %d\"}\n", index);
      } else {
        worker_t *w = &workers[index];
        size_t n = strlen(line);
        line[n] = '\n';
        write_all(w->to, line, n + 1);
        char *reply = read_line(&w->rd);
        if (!reply) { fprintf(stderr, "lwip worker for host %d died\n", index); return 1; }
        text_add(&out, "%s\n", reply);
      }
    }
    write_all(1, out.data, out.len);
  }
  stop_workers();
  return 0;
}

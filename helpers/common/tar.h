/*
 * tar.h: the one tar reader and writer of the helpers (sandbox-cp, sandbox-layer).
 * Header-only, libc only. Every read or write error ends in tar_fatal: say.h's die(), one
 * line and the helper's failure status (1 for sandbox-cp and sandbox-layer).
 *
 * Reading: ustar, GNU (././@LongLink 'L'/'K' records, base-256 numbers) and PAX ('x'
 * records: path, linkpath, size, uid, gid, mtime, SCHILY.xattr.*; 'g' records are
 * skipped). Input is read in large blocks; file data can be taken straight out of the
 * buffer (tar_data) without copying.
 * Writing: GNU style (long names as 'L'/'K' records, what sandbox-cp has always written)
 * or PAX (long names, large ids and xattrs as an 'x' record), buffered.
 */
#ifndef SANDBOX_TAR_H
#define SANDBOX_TAR_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "say.h"
#define tar_fatal die

#define TAR_BLOCK 512
/* Longest PAX or GNU long-name record we accept: names, link targets and xattrs fit. */
#define TAR_MAX_RECORD (8u << 20)

static uint64_t tar_pad(uint64_t n) { return (TAR_BLOCK - n % TAR_BLOCK) % TAR_BLOCK; }

static int tar_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) { if (errno == EINTR) continue; return -1; }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* ---------- numbers ---------- */

/* Octal with a NUL when it fits, else GNU base-256. */
static void tar_put_num(char *field, size_t len, uint64_t v) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%0*llo", (int)(len - 1), (unsigned long long)v);
  if (strlen(tmp) <= len - 1) { memcpy(field, tmp, len - 1); field[len - 1] = 0; return; }
  memset(field, 0, len);
  field[0] = (char)0x80;
  for (size_t i = len - 1; i > 0 && v; i--) { field[i] = (char)(v & 0xff); v >>= 8; }
}

static uint64_t tar_get_num(const char *f, size_t len) {
  if ((unsigned char)f[0] & 0x80) {
    uint64_t v = (unsigned char)f[0] & 0x7f;
    for (size_t i = 1; i < len; i++) v = (v << 8) | (unsigned char)f[i];
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < len && (f[i] == ' ' || f[i] == 0)) { if (f[i] == 0) return 0; i++; }
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) v = v * 8 + (uint64_t)(f[i] - '0');
  return v;
}

/* ---------- writing ---------- */

enum tar_format { TAR_FORMAT_GNU, TAR_FORMAT_PAX };

struct tar_xattr { char *name; char *value; size_t len; };

/* What one header says. `link` for hard and symbolic links; xattrs only with PAX. */
struct tar_meta {
  const char *name;
  char type;
  uint64_t size;
  unsigned mode;
  uint64_t uid, gid;
  int64_t mtime;
  const char *link;
  unsigned devmajor, devminor;
  const struct tar_xattr *xattrs;
  size_t n_xattrs;
};

struct tar_writer {
  int fd;
  enum tar_format format;
  size_t len;
  char buf[1 << 16];
};

static void tar_flush(struct tar_writer *w) {
  if (w->len && tar_write_all(w->fd, w->buf, w->len) < 0) die_write_failed(errno, "", "the archive's output", "cannot write the archive");
  w->len = 0;
}

static void tar_put(struct tar_writer *w, const void *data, size_t len) {
  if (len >= sizeof w->buf) {
    tar_flush(w);
    if (tar_write_all(w->fd, data, len) < 0) die_write_failed(errno, "", "the archive's output", "cannot write the archive");
    return;
  }
  if (w->len + len > sizeof w->buf) tar_flush(w);
  memcpy(w->buf + w->len, data, len);
  w->len += len;
}

static const char tar_zeros[TAR_BLOCK];

/* Zeros up to the next block boundary after `size` bytes of data. */
static void tar_put_pad(struct tar_writer *w, uint64_t size) {
  if (size % TAR_BLOCK) tar_put(w, tar_zeros, TAR_BLOCK - size % TAR_BLOCK);
}

/* The end of the archive (two zero blocks), flushed. */
static void tar_put_end(struct tar_writer *w) {
  tar_put(w, tar_zeros, TAR_BLOCK);
  tar_put(w, tar_zeros, TAR_BLOCK);
  tar_flush(w);
}

/* One 512-byte header; name and link are cut at 100 bytes (the caller wrote any long form). */
static void tar_put_block(struct tar_writer *w, const struct tar_meta *m) {
  char h[TAR_BLOCK];
  memset(h, 0, sizeof h);
  strncpy(h, m->name, 100);
  tar_put_num(h + 100, 8, m->mode & 07777);
  tar_put_num(h + 108, 8, m->uid);
  tar_put_num(h + 116, 8, m->gid);
  tar_put_num(h + 124, 12, m->size);
  tar_put_num(h + 136, 12, m->mtime > 0 ? (uint64_t)m->mtime : 0);
  h[156] = m->type;
  if (m->link) strncpy(h + 157, m->link, 100);
  if (w->format == TAR_FORMAT_GNU) memcpy(h + 257, "ustar  ", 8); /* GNU magic and version */
  else memcpy(h + 257, "ustar\0" "00", 8);
  if (m->type == '3' || m->type == '4') {
    tar_put_num(h + 329, 8, m->devmajor);
    tar_put_num(h + 337, 8, m->devminor);
  }
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < TAR_BLOCK; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  tar_put(w, h, TAR_BLOCK);
}

static void tar_put_record(struct tar_writer *w, const char *name, char type, const void *data, size_t len) {
  struct tar_meta r = { .name = name, .type = type, .size = len, .mode = 0644 };
  tar_put_block(w, &r);
  tar_put(w, data, len);
  tar_put_pad(w, len);
}

/* Appends one "LEN key=value\n" PAX record to a growing buffer. */
static void tar_pax_add(char **buf, size_t *len, size_t *cap, const char *key, const char *value, size_t vlen) {
  size_t body = 1 + strlen(key) + 1 + vlen + 1; /* " key=value\n" */
  size_t total = body + 1;
  for (;;) { /* the length counts its own digits */
    char digits[24];
    size_t d = (size_t)snprintf(digits, sizeof digits, "%zu", total);
    if (d + body == total) break;
    total = d + body;
  }
  if (*len + total + 1 > *cap) {
    *cap = (*len + total + 1) * 2;
    *buf = realloc(*buf, *cap);
    if (!*buf) tar_fatal("out of memory");
  }
  char *p = *buf + *len;
  p += sprintf(p, "%zu %s=", total, key);
  memcpy(p, value, vlen);
  p[vlen] = '\n';
  *len += total;
}

/* A header with whatever it needs before it: GNU long-name records or one PAX record. */
static void tar_put_header(struct tar_writer *w, const struct tar_meta *m) {
  int long_name = strlen(m->name) >= 100, long_link = m->link && strlen(m->link) >= 100;
  if (w->format == TAR_FORMAT_GNU) {
    if (long_name) tar_put_record(w, "././@LongLink", 'L', m->name, strlen(m->name) + 1);
    if (long_link) tar_put_record(w, "././@LongLink", 'K', m->link, strlen(m->link) + 1);
    tar_put_block(w, m);
    return;
  }
  char *pax = NULL, num[24];
  size_t len = 0, cap = 0;
  if (long_name) tar_pax_add(&pax, &len, &cap, "path", m->name, strlen(m->name));
  if (long_link) tar_pax_add(&pax, &len, &cap, "linkpath", m->link, strlen(m->link));
  /* Octal fields hold up to 07777777; PAX says larger ids exactly. */
  if (m->uid > 07777777) tar_pax_add(&pax, &len, &cap, "uid", num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)m->uid));
  if (m->gid > 07777777) tar_pax_add(&pax, &len, &cap, "gid", num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)m->gid));
  for (size_t i = 0; i < m->n_xattrs; i++) {
    char *key = malloc(strlen(m->xattrs[i].name) + 16);
    if (!key) tar_fatal("out of memory");
    sprintf(key, "SCHILY.xattr.%s", m->xattrs[i].name);
    tar_pax_add(&pax, &len, &cap, key, m->xattrs[i].value, m->xattrs[i].len);
    free(key);
  }
  if (len) {
    /* Named after the entry, as other writers do; readers ignore the name. */
    const char *base = strrchr(m->name, '/');
    base = base && base[1] ? base + 1 : m->name;
    char name[100];
    snprintf(name, sizeof name, "PaxHeaders/%.80s", base);
    tar_put_record(w, name, 'x', pax, len);
  }
  free(pax);
  tar_put_block(w, m);
}

/* Hard links while writing: a regular file with more than one link is archived once,
 * under the first name met; later names become hard links to it (tar_first_name). */
static struct tar_inode { dev_t dev; ino_t ino; char *name; } *tar_inodes;
static size_t tar_n_inodes, tar_cap_inodes;

/* The archived name of this file's inode, if one was archived already. */
static const char *tar_first_name(const struct stat *st) {
  for (size_t i = 0; i < tar_n_inodes; i++)
    if (tar_inodes[i].dev == st->st_dev && tar_inodes[i].ino == st->st_ino) return tar_inodes[i].name;
  return NULL;
}

static void tar_remember_name(const struct stat *st, const char *name) {
  if (tar_n_inodes == tar_cap_inodes) {
    tar_cap_inodes = tar_cap_inodes ? tar_cap_inodes * 2 : 64;
    tar_inodes = realloc(tar_inodes, tar_cap_inodes * sizeof *tar_inodes);
    if (!tar_inodes) tar_fatal("out of memory");
  }
  tar_inodes[tar_n_inodes++] = (struct tar_inode){ st->st_dev, st->st_ino, strdup(name) };
}

/* ---------- reading ---------- */

struct tar_entry {
  char type;           /* '0' for regular files (a NUL type flag is reported as '0') */
  char *name, *link;   /* link: "" when none */
  uint64_t size;       /* data bytes that follow (0 for header-only types) */
  unsigned mode;       /* permission bits incl. setuid/setgid/sticky */
  uint64_t uid, gid;
  int64_t mtime;
  long mtime_nsec;
  unsigned devmajor, devminor;
  struct tar_xattr *xattrs;
  size_t n_xattrs;
};

struct tar_reader {
  int fd;
  unsigned char *buf;
  size_t cap, pos, len;
  int eof;
  int ended;           /* an end-of-archive zero block was read */
  uint64_t left;       /* data bytes of the current entry not consumed yet */
  uint64_t pad;        /* padding after them */
  struct tar_entry cur;
};

static void tar_reader_init(struct tar_reader *r, int fd) {
  memset(r, 0, sizeof *r);
  r->fd = fd;
  r->cap = 1 << 20;
  r->buf = malloc(r->cap);
  if (!r->buf) tar_fatal("out of memory");
}

/* Makes at least `want` bytes (at most the buffer) available; returns how many are. */
static size_t tar_fill(struct tar_reader *r, size_t want) {
  if (want > r->cap) want = r->cap;
  if (r->len - r->pos >= want) return r->len - r->pos;
  if (r->pos) {
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
  }
  while (!r->eof && r->len < want) {
    ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
    if (n < 0) { if (errno == EINTR) continue; tar_fatal("cannot read the archive: %s", strerror(errno)); }
    if (n == 0) r->eof = 1;
    r->len += (size_t)n;
  }
  return r->len - r->pos;
}

/* Exactly n bytes into buf, or a fatal "ends early". */
static void tar_read_exact(struct tar_reader *r, void *buf, size_t n) {
  char *p = buf;
  while (n) {
    size_t have = tar_fill(r, n);
    if (!have) tar_fatal("the archive ends early (truncated)");
    if (have > n) have = n;
    memcpy(p, r->buf + r->pos, have);
    r->pos += have;
    p += have;
    n -= have;
  }
}

static void tar_discard(struct tar_reader *r, uint64_t n) {
  while (n) {
    size_t have = tar_fill(r, n < r->cap ? (size_t)n : r->cap);
    if (!have) tar_fatal("the archive ends early (truncated)");
    if (have > n) have = (size_t)n;
    r->pos += have;
    n -= have;
  }
}

/* The next piece of the current entry's data, straight from the buffer: returns its
 * length (0 at the end of the data) and points *p at it. */
static size_t tar_data(struct tar_reader *r, const void **p) {
  if (!r->left) return 0;
  size_t have = tar_fill(r, r->left < r->cap ? (size_t)r->left : r->cap);
  if (!have) tar_fatal("the archive ends early (truncated)");
  if (have > r->left) have = (size_t)r->left;
  *p = r->buf + r->pos;
  r->pos += have;
  r->left -= have;
  return have;
}

static void tar_entry_clear(struct tar_entry *e) {
  free(e->name);
  free(e->link);
  for (size_t i = 0; i < e->n_xattrs; i++) { free(e->xattrs[i].name); free(e->xattrs[i].value); }
  free(e->xattrs);
  memset(e, 0, sizeof *e);
}

static char *tar_read_record(struct tar_reader *r, uint64_t size) {
  if (size > TAR_MAX_RECORD) tar_fatal("an archive record of %llu bytes is too long", (unsigned long long)size);
  char *s = malloc(size + 1);
  if (!s) tar_fatal("out of memory");
  tar_read_exact(r, s, (size_t)size);
  s[size] = 0;
  tar_discard(r, tar_pad(size));
  return s;
}

static char *tar_strndup(const char *s, size_t n) {
  char *d = strndup(s, n);
  if (!d) tar_fatal("out of memory");
  return d;
}

struct tar_pending {   /* what PAX and GNU records say about the next entry */
  char *name, *link;
  int have_size, have_uid, have_gid, have_mtime;
  uint64_t size, uid, gid;
  int64_t mtime;
  long mtime_nsec;
  struct tar_xattr *xattrs;
  size_t n_xattrs;
};

static int tar_decimal(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (!n) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}

/* "LEN key=value\n" records; values may hold any byte (xattrs). */
static void tar_parse_pax(struct tar_pending *pd, const char *s, size_t size) {
  size_t off = 0;
  while (off < size) {
    const char *rec = s + off, *sp = memchr(rec, ' ', size - off);
    uint64_t len;
    if (!sp || tar_decimal(rec, (size_t)(sp - rec), &len) < 0 || len > size - off || len < (uint64_t)(sp - rec) + 3 || rec[len - 1] != '\n')
      tar_fatal("bad PAX header in the archive");
    const char *key = sp + 1, *end = rec + len - 1, *eq = memchr(key, '=', (size_t)(end - key));
    if (!eq) tar_fatal("bad PAX header in the archive");
    size_t klen = (size_t)(eq - key), vlen = (size_t)(end - eq - 1);
    const char *v = eq + 1;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))
    if (KEY("path")) { free(pd->name); pd->name = tar_strndup(v, vlen); }
    else if (KEY("linkpath")) { free(pd->link); pd->link = tar_strndup(v, vlen); }
    else if (KEY("size")) { if (tar_decimal(v, vlen, &pd->size) < 0) tar_fatal("bad PAX size in the archive"); pd->have_size = 1; }
    else if (KEY("uid")) { if (tar_decimal(v, vlen, &pd->uid) < 0) tar_fatal("bad PAX uid in the archive"); pd->have_uid = 1; }
    else if (KEY("gid")) { if (tar_decimal(v, vlen, &pd->gid) < 0) tar_fatal("bad PAX gid in the archive"); pd->have_gid = 1; }
    else if (KEY("mtime")) {
      /* seconds, optionally with a fraction; negative times are taken as 0 */
      const char *dot = memchr(v, '.', vlen);
      size_t ilen = dot ? (size_t)(dot - v) : vlen;
      uint64_t secs = 0;
      if (ilen && v[0] != '-' && tar_decimal(v, ilen, &secs) < 0) tar_fatal("bad PAX mtime in the archive");
      pd->mtime = v[0] == '-' ? 0 : (int64_t)secs;
      pd->mtime_nsec = 0;
      if (dot && v[0] != '-') {
        long ns = 0;
        int digits = 0;
        for (const char *q = dot + 1; q < v + vlen && digits < 9; q++, digits++) {
          if (*q < '0' || *q > '9') break;
          ns = ns * 10 + (*q - '0');
        }
        for (; digits < 9; digits++) ns *= 10;
        pd->mtime_nsec = ns;
      }
      pd->have_mtime = 1;
    } else if (klen > 13 && !memcmp(key, "SCHILY.xattr.", 13)) {
      pd->xattrs = realloc(pd->xattrs, (pd->n_xattrs + 1) * sizeof *pd->xattrs);
      if (!pd->xattrs) tar_fatal("out of memory");
      struct tar_xattr *x = &pd->xattrs[pd->n_xattrs++];
      x->name = tar_strndup(key + 13, klen - 13);
      x->value = malloc(vlen + 1);
      if (!x->value) tar_fatal("out of memory");
      memcpy(x->value, v, vlen);
      x->value[vlen] = 0;
      x->len = vlen;
    }
#undef KEY
    off += (size_t)len;
  }
}

/* Header-only types carry no data whatever their size field says. */
static int tar_has_data(char type) {
  return !(type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6');
}

/* The next entry (any unread data of the previous one is skipped). Returns 1 with *e
 * filled (valid until the next call), 0 at the end: r->ended says whether that was an
 * end-of-archive block (1) or the input simply stopped at an entry boundary (0). */
static int tar_next(struct tar_reader *r, struct tar_entry **e) {
  tar_discard(r, r->left + r->pad);
  r->left = r->pad = 0;
  tar_entry_clear(&r->cur);
  struct tar_pending pd;
  memset(&pd, 0, sizeof pd);
  for (;;) {
    char h[TAR_BLOCK];
    size_t have = tar_fill(r, TAR_BLOCK);
    if (have == 0 && !pd.name && !pd.link && !pd.n_xattrs) return 0;
    if (have < TAR_BLOCK) tar_fatal("the archive ends early (truncated)");
    memcpy(h, r->buf + r->pos, TAR_BLOCK);
    r->pos += TAR_BLOCK;
    int zero = 1;
    for (int i = 0; i < TAR_BLOCK; i++) if (h[i]) { zero = 0; break; }
    if (zero) { r->ended = 1; return 0; }
    unsigned usum = 0;
    int ssum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) {
      unsigned char c = (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
      usum += c;
      ssum += (signed char)c;
    }
    uint64_t want = tar_get_num(h + 148, 8);
    if (want != usum && (int64_t)want != ssum) tar_fatal("not a tar archive (bad header checksum)");
    char type = h[156] ? h[156] : '0';
    uint64_t size = tar_get_num(h + 124, 12);
    if (type == 'L' || type == 'K') {
      char *s = tar_read_record(r, size);
      char *v = tar_strndup(s, strnlen(s, (size_t)size));
      free(s);
      if (type == 'L') { free(pd.name); pd.name = v; } else { free(pd.link); pd.link = v; }
      continue;
    }
    if (type == 'x' || type == 'g') {
      char *s = tar_read_record(r, size);
      if (type == 'x') tar_parse_pax(&pd, s, (size_t)size);
      free(s);
      continue;
    }
    struct tar_entry *c = &r->cur;
    c->type = type;
    if (pd.name) { c->name = pd.name; pd.name = NULL; }
    else {
      char buf[257];
      if (!memcmp(h + 257, "ustar\0", 6) && h[345]) snprintf(buf, sizeof buf, "%.155s/%.100s", h + 345, h);
      else snprintf(buf, sizeof buf, "%.100s", h);
      c->name = tar_strndup(buf, strlen(buf));
    }
    if (pd.link) { c->link = pd.link; pd.link = NULL; }
    else c->link = tar_strndup(h + 157, strnlen(h + 157, 100));
    if (pd.have_size) size = pd.size;
    c->mode = (unsigned)tar_get_num(h + 100, 8) & 07777;
    c->uid = pd.have_uid ? pd.uid : tar_get_num(h + 108, 8);
    c->gid = pd.have_gid ? pd.gid : tar_get_num(h + 116, 8);
    c->mtime = pd.have_mtime ? pd.mtime : (int64_t)tar_get_num(h + 136, 12);
    c->mtime_nsec = pd.have_mtime ? pd.mtime_nsec : 0;
    c->devmajor = (unsigned)tar_get_num(h + 329, 8);
    c->devminor = (unsigned)tar_get_num(h + 337, 8);
    c->xattrs = pd.xattrs;
    c->n_xattrs = pd.n_xattrs;
    c->size = tar_has_data(type) ? size : 0;
    r->left = c->size;
    r->pad = tar_pad(c->size);
    *e = c;
    return 1;
  }
}

/* Reads (and drops) whatever follows the end of the archive, so that the writer never
 * sees a broken pipe. */
static void tar_drain(struct tar_reader *r) {
  r->pos = r->len = 0;
  while (!r->eof) {
    ssize_t n = read(r->fd, r->buf, r->cap);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) r->eof = 1;
  }
}

#endif

// SPDX-License-Identifier: GPL-2.0-only
#include "proc_table.h"

#include <stdlib.h>
#include <string.h>

#include "open_addressing.h"

/* Entries live densely in one array that the per-interval passes walk;
 * lookups go through an open-addressing index (linear probing, backward-shift
 * deletion) of entry numbers, 4 bytes per slot at most half full. A removed
 * entry's place is taken by the last one. Dense entries keep memory near
 * sizeof(struct proc_entry) per process, instead of twice that for inline
 * slots kept half empty. */
struct proc_table {
  struct proc_entry *entries;
  size_t size, entries_cap;
  uint32_t *index;     /* entry number + 1; 0: empty slot */
  size_t index_cap;    /* power of two */
  uint32_t generation; /* of the last update */
};

static uint64_t hash_key(const struct proc_key *k) {
  uint64_t h = (uint64_t)k->tgid * 0x9e3779b97f4a7c15ull ^ k->start_ns;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static bool key_eq(const struct proc_key *a, const struct proc_key *b) {
  return a->tgid == b->tgid && a->start_ns == b->start_ns;
}

struct proc_table *proc_table_new(void) {
  struct proc_table *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->index_cap = 256;
  t->index = calloc(t->index_cap, sizeof(*t->index));
  if (!t->index) {
    proc_table_free(t);
    return NULL;
  }
  return t;
}

void proc_table_free(struct proc_table *t) {
  if (!t)
    return;
  free(t->entries);
  free(t->index);
  free(t);
}

static const struct proc_key *key_at(const struct proc_table *t, size_t slot) {
  return &t->entries[t->index[slot] - 1].key;
}

/* The slot holding k, or the empty slot where it would go. */
static size_t find_slot(const struct proc_table *t, const struct proc_key *k) {
  size_t mask = t->index_cap - 1;
  size_t i = hash_key(k) & mask;
  while (t->index[i] && !key_eq(key_at(t, i), k))
    i = (i + 1) & mask;
  return i;
}

static int grow_index(struct proc_table *t) {
  size_t cap = t->index_cap * 2;
  uint32_t *index = calloc(cap, sizeof(*index));
  if (!index)
    return -1;
  free(t->index);
  t->index = index;
  t->index_cap = cap;
  for (size_t e = 0; e < t->size; e++)
    t->index[find_slot(t, &t->entries[e].key)] = (uint32_t)e + 1;
  return 0;
}

/* Empty slot i of the index: move later members of its probe run into the
 * hole. */
static void unindex_at(struct proc_table *t, size_t i) {
  size_t mask = t->index_cap - 1;
  t->index[i] = 0;
  for (size_t j = (i + 1) & mask; t->index[j]; j = (j + 1) & mask) {
    size_t home = hash_key(key_at(t, j)) & mask;
    if (oa_fills_hole(i, j, home)) {
      t->index[i] = t->index[j];
      t->index[j] = 0;
      i = j;
    }
  }
}

/* Remove entry number e: the last entry moves into its place. */
static void remove_entry(struct proc_table *t, size_t e) {
  unindex_at(t, find_slot(t, &t->entries[e].key));
  size_t last = --t->size;
  if (e != last) {
    t->entries[e] = t->entries[last];
    t->index[find_slot(t, &t->entries[e].key)] = (uint32_t)e + 1;
  }
}

static struct proc_entry *lookup(struct proc_table *t,
                                 const struct proc_key *k) {
  size_t i = find_slot(t, k);
  return t->index[i] ? &t->entries[t->index[i] - 1] : NULL;
}

static struct proc_entry *insert(struct proc_table *t,
                                 const struct proc_key *k) {
  if ((t->size + 1) * 2 > t->index_cap && grow_index(t))
    return NULL;
  if (t->size == t->entries_cap) { /* grow by half: at most a third unused */
    size_t cap = t->entries_cap < 64 ? 64 : t->entries_cap + t->entries_cap / 2;
    struct proc_entry *p = realloc(t->entries, cap * sizeof(*p));
    if (!p)
      return NULL;
    t->entries = p;
    t->entries_cap = cap;
  }
  struct proc_entry *e = &t->entries[t->size];
  memset(e, 0, sizeof(*e));
  e->key = *k;
  t->index[find_slot(t, k)] = (uint32_t)++t->size;
  return e;
}

/* A record's amounts in feature order. */
static void add_record(struct proc_entry *e, const struct task_record *r) {
  e->added[FEATURE_CPU_TIME_MS] += r->cpu_ns;
  e->added[FEATURE_CPU_CYCLES] += r->count[KEPLER_COUNT_CYCLES];
  e->added[FEATURE_CPU_INSTRUCTIONS] += r->count[KEPLER_COUNT_INSTRUCTIONS];
  e->added[FEATURE_CACHE_MISS] += r->count[KEPLER_COUNT_CACHE_MISSES];
  e->added[FEATURE_PAGE_CACHE_HIT] += r->count[KEPLER_COUNT_PAGE_CACHE_HIT];
  e->added[FEATURE_NET_RX_IRQ] += r->count[KEPLER_COUNT_NET_RX];
  e->added[FEATURE_NET_TX_IRQ] += r->count[KEPLER_COUNT_NET_TX];
  e->added[FEATURE_BLOCK_IRQ] += r->count[KEPLER_COUNT_BLOCK];
  memcpy(e->comm, r->comm, sizeof(e->comm));
  e->comm[sizeof(e->comm) - 1] = '\0';
  e->cgroup_id = r->cgroup_id;
  e->flags = (e->flags & RECORD_EXITED) | r->flags;
}

static void take_rates(struct proc_entry *e, double dt_s) {
  for (int f = 0; f < FEATURE_MAX; f++) {
    double unit = f == FEATURE_CPU_TIME_MS ? 1e6 : 1.0; /* ns -> ms */
    e->rate[f] = dt_s > 0 ? (double)e->added[f] / unit / dt_s : 0;
    e->added[f] = 0;
  }
  /* A process is reported in the interval it exits, whatever it ran. */
  e->active = e->rate[FEATURE_CPU_TIME_MS] > 0 || (e->flags & RECORD_EXITED);
}

int proc_table_update(struct proc_table *t, const struct task_record *records,
                      size_t n, bool full_walk, double dt_s) {
  /* Reported in the interval they exited: gone now. */
  for (size_t e = 0; e < t->size;) {
    if (t->entries[e].flags & RECORD_EXITED)
      remove_entry(t, e); /* the last entry moved here: check it too */
    else
      e++;
  }
  uint32_t gen = ++t->generation;
  for (size_t i = 0; i < n; i++) {
    struct proc_entry *e = lookup(t, &records[i].key);
    if (!e && !(e = insert(t, &records[i].key)))
      return -1;
    add_record(e, &records[i]);
    e->seen = gen;
  }
  for (size_t e = 0; e < t->size;) {
    if (full_walk && t->entries[e].seen != gen) {
      remove_entry(t, e);
      continue;
    }
    take_rates(&t->entries[e], dt_s);
    e++;
  }
  return 0;
}

size_t proc_table_size(const struct proc_table *t) {
  return t->size;
}

struct proc_entry *proc_table_next(struct proc_table *t, size_t *pos) {
  return *pos < t->size ? &t->entries[(*pos)++] : NULL;
}

#include "proc_table.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing and backward-shift deletion; the
 * per-interval pass touches every entry, so entries live inline. */
struct proc_table {
  struct proc_entry *slots;
  bool *used;
  size_t cap; /* power of two */
  size_t size;
  uint32_t generation;
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
  t->cap = 256;
  t->slots = calloc(t->cap, sizeof(*t->slots));
  t->used = calloc(t->cap, sizeof(*t->used));
  if (!t->slots || !t->used) {
    proc_table_free(t);
    return NULL;
  }
  return t;
}

void proc_table_free(struct proc_table *t) {
  if (!t)
    return;
  free(t->slots);
  free(t->used);
  free(t);
}

static size_t find_slot(const struct proc_table *t, const struct proc_key *k) {
  size_t mask = t->cap - 1;
  size_t i = hash_key(k) & mask;
  while (t->used[i] && !key_eq(&t->slots[i].key, k))
    i = (i + 1) & mask;
  return i;
}

static int grow(struct proc_table *t) {
  struct proc_table bigger = {.cap = t->cap * 2};
  bigger.slots = malloc(bigger.cap * sizeof(*bigger.slots));
  bigger.used = calloc(bigger.cap, sizeof(*bigger.used));
  if (!bigger.slots || !bigger.used) {
    free(bigger.slots);
    free(bigger.used);
    return -1;
  }
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->used[i])
      continue;
    size_t j = find_slot(&bigger, &t->slots[i].key);
    bigger.slots[j] = t->slots[i];
    bigger.used[j] = true;
  }
  free(t->slots);
  free(t->used);
  t->slots = bigger.slots;
  t->used = bigger.used;
  t->cap = bigger.cap;
  return 0;
}

static void remove_at(struct proc_table *t, size_t i) {
  size_t mask = t->cap - 1;
  t->used[i] = false;
  t->size--;
  /* Backward shift: move later members of the probe run into the hole. */
  for (size_t j = (i + 1) & mask; t->used[j]; j = (j + 1) & mask) {
    size_t home = hash_key(&t->slots[j].key) & mask;
    bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      t->slots[i] = t->slots[j];
      t->used[i] = true;
      t->used[j] = false;
      i = j;
    }
  }
}

static struct proc_entry *lookup(struct proc_table *t,
                                 const struct proc_key *k) {
  size_t i = find_slot(t, k);
  return t->used[i] ? &t->slots[i] : NULL;
}

/* The kernel's cumulative counters in feature order. */
static void counters_of(const struct proc_stats *s, uint64_t c[FEATURE_MAX]) {
  c[FEATURE_CPU_TIME_MS] = s->cpu_ns;
  c[FEATURE_CPU_CYCLES] = s->hw[KEPLER_HW_CYCLES];
  c[FEATURE_CPU_INSTRUCTIONS] = s->hw[KEPLER_HW_INSTRUCTIONS];
  c[FEATURE_CACHE_MISS] = s->hw[KEPLER_HW_CACHE_MISSES];
  c[FEATURE_PAGE_CACHE_HIT] = s->page_cache_hit;
  c[FEATURE_NET_RX_IRQ] = s->softirq[KEPLER_IRQ_NET_RX];
  c[FEATURE_NET_TX_IRQ] = s->softirq[KEPLER_IRQ_NET_TX];
  c[FEATURE_BLOCK_IRQ] = s->softirq[KEPLER_IRQ_BLOCK];
}

static struct proc_entry *insert(struct proc_table *t,
                                 const struct proc_key *k) {
  if ((t->size + 1) * 2 > t->cap && grow(t))
    return NULL;
  size_t i = find_slot(t, k);
  memset(&t->slots[i], 0, sizeof(t->slots[i]));
  t->slots[i].key = *k;
  t->used[i] = true;
  t->size++;
  return &t->slots[i];
}

static void fold(struct proc_entry *e, const struct proc_sample *s, bool is_new,
                 double dt_s) {
  uint64_t now[FEATURE_MAX];
  counters_of(&s->stats, now);
  now[FEATURE_CPU_TIME_MS] += e->inflight_ns;
  e->inflight_ns = 0;
  e->active = false;
  for (int f = 0; f < FEATURE_MAX; f++) {
    /* A process first seen now ran within this interval: all it has
     * counted belongs here. */
    uint64_t base = is_new ? 0 : e->last[f];
    uint64_t delta = now[f] > base ? now[f] - base : 0;
    if (now[f] > e->last[f] || is_new)
      e->last[f] = now[f];
    double unit = f == FEATURE_CPU_TIME_MS ? 1e6 : 1.0; /* ns -> ms */
    e->rate[f] = dt_s > 0 ? (double)delta / unit / dt_s : 0;
  }
  e->active = e->rate[FEATURE_CPU_TIME_MS] > 0;
  e->moved = false;
  for (int f = 0; f < FEATURE_MAX; f++)
    e->moved |= e->rate[f] > 0;
  memcpy(e->comm, s->stats.comm, sizeof(e->comm));
  e->comm[sizeof(e->comm) - 1] = '\0';
  e->cgroup_id = s->stats.cgroup_id;
  e->flags = s->stats.flags;
  if (e->flags & PROC_EXITED) {
    if (e->exit_samples == 0)
      e->active = true; /* report it in the interval it exits */
    if (e->exit_samples < 2)
      e->exit_samples++;
  }
}

int proc_table_update(struct proc_table *t, const struct proc_sample *samples,
                      size_t n, const struct inflight_slice *inflight,
                      unsigned ninflight, double dt_s) {
  uint32_t gen = ++t->generation;
  /* Credit the slices running right now (a process that has not yet been
   * switched out since it was first seen gets its credit at its next one). */
  for (unsigned c = 0; c < ninflight; c++) {
    struct proc_entry *e =
        inflight[c].key.tgid ? lookup(t, &inflight[c].key) : NULL;
    if (e)
      e->inflight_ns += inflight[c].ns;
  }
  for (size_t i = 0; i < n; i++) {
    struct proc_entry *e = lookup(t, &samples[i].key);
    bool is_new = e == NULL;
    if (is_new && !(e = insert(t, &samples[i].key)))
      return -1;
    fold(e, &samples[i], is_new, dt_s);
    e->generation = gen;
  }
  /* Gone from the kernel map (reaped by us): drop. */
  for (size_t i = 0; i < t->cap;) {
    if (t->used[i] && t->slots[i].generation != gen)
      remove_at(t, i); /* the slot now holds a shifted entry: re-check it */
    else
      i++;
  }
  return 0;
}

size_t proc_table_size(const struct proc_table *t) {
  return t->size;
}

struct proc_entry *proc_table_next(struct proc_table *t, size_t *pos) {
  while (*pos < t->cap) {
    size_t i = (*pos)++;
    if (t->used[i])
      return &t->slots[i];
  }
  return NULL;
}

size_t proc_table_reapable(const struct proc_table *t, struct proc_key *keys,
                           size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < t->cap && n < max; i++) {
    const struct proc_entry *e = &t->slots[i];
    if (t->used[i] && (e->exit_samples >= 2 || e->vanished) && !e->moved)
      keys[n++] = e->key;
  }
  return n;
}

void proc_table_remove(struct proc_table *t, const struct proc_key *key) {
  size_t i = find_slot(t, key);
  if (t->used[i])
    remove_at(t, i);
}

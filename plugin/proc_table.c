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
  uint32_t *index;  /* entry number + 1; 0: empty slot */
  size_t index_cap; /* power of two */
  uint32_t generation;
  uint32_t *of_sample; /* scratch: entry number of each sample */
  size_t of_sample_cap;
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
  free(t->of_sample);
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
  if (n > t->of_sample_cap) {
    uint32_t *p = realloc(t->of_sample, n * sizeof(*p));
    if (!p)
      return -1;
    t->of_sample = p;
    t->of_sample_cap = n;
  }
  /* Every process of the sample gets its entry first (a new one has
   * generation 0)... */
  for (size_t i = 0; i < n; i++) {
    struct proc_entry *e = lookup(t, &samples[i].key);
    if (!e && !(e = insert(t, &samples[i].key)))
      return -1;
    t->of_sample[i] = (uint32_t)(e - t->entries);
  }
  /* ...so the slices running right now are credited to new processes too:
   * at the first sample, or the one that first sees a process, they are in
   * its counters from here on and do not spill into the next interval. */
  for (unsigned c = 0; c < ninflight; c++) {
    struct proc_entry *e =
        inflight[c].key.tgid ? lookup(t, &inflight[c].key) : NULL;
    if (e)
      e->inflight_ns += inflight[c].ns;
  }
  for (size_t i = 0; i < n; i++) {
    struct proc_entry *e = &t->entries[t->of_sample[i]];
    fold(e, &samples[i], e->generation == 0, dt_s);
    e->generation = gen;
  }
  /* Gone from the kernel map (reaped by us): drop. */
  for (size_t e = 0; e < t->size;) {
    if (t->entries[e].generation != gen)
      remove_entry(t, e); /* the last entry moved here: check it too */
    else
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

size_t proc_table_reapable(const struct proc_table *t, struct proc_key *keys,
                           size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < t->size && n < max; i++) {
    const struct proc_entry *e = &t->entries[i];
    if ((e->exit_samples >= 2 || e->vanished) && !e->moved)
      keys[n++] = e->key;
  }
  return n;
}

void proc_table_remove(struct proc_table *t, const struct proc_key *key) {
  size_t i = find_slot(t, key);
  if (t->index[i])
    remove_entry(t, t->index[i] - 1);
}

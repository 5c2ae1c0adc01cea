// SPDX-License-Identifier: GPL-2.0-only
#include "workload_set.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "open_addressing.h"

struct node {
  struct workload_id id; /* first: a workload_id pointer is a node pointer */
  uint64_t hash;
  uint32_t generation;
};

/* Open addressing of node pointers, at most half full. There are as many
 * identities as cgroups with processes: a rebuild per sweep is cheap. */
struct workload_set {
  struct node **slots;
  size_t cap, size; /* cap: power of two */
};

static uint64_t hash_id(const struct workload_id *w) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  const unsigned char *parts[] = {(const unsigned char *)w->id,
                                  (const unsigned char *)w->cgroup_path};
  for (size_t p = 0; p < 2; p++) {
    for (const unsigned char *c = parts[p]; *c; c++)
      h = (h ^ *c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* separator */
  }
  return h ^ ((uint64_t)w->kind << 56) ^ ((uint64_t)w->runtime << 48);
}

static bool id_eq(const struct workload_id *a, const struct workload_id *b) {
  return a->kind == b->kind && a->runtime == b->runtime &&
         strcmp(a->id, b->id) == 0 &&
         strcmp(a->cgroup_path, b->cgroup_path) == 0;
}

struct workload_set *workload_set_new(void) {
  struct workload_set *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->cap = 64;
  s->slots = calloc(s->cap, sizeof(*s->slots));
  if (!s->slots) {
    free(s);
    return NULL;
  }
  return s;
}

void workload_set_free(struct workload_set *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->cap; i++)
    free(s->slots[i]);
  free(s->slots);
  free(s);
}

static void place(struct node **slots, size_t cap, struct node *n) {
  size_t i = n->hash & (cap - 1);
  while (slots[i])
    i = (i + 1) & (cap - 1);
  slots[i] = n;
}

/* Rehash every node into a table of cap slots. */
static int rebuild(struct workload_set *s, size_t cap) {
  struct node **slots = calloc(cap, sizeof(*slots));
  if (!slots)
    return -1;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i])
      place(slots, cap, s->slots[i]);
  free(s->slots);
  s->slots = slots;
  s->cap = cap;
  return 0;
}

const struct workload_id *workload_set_intern(struct workload_set *s,
                                              const struct workload_id *w) {
  uint64_t h = hash_id(w);
  for (size_t i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
    if (s->slots[i]->hash == h && id_eq(&s->slots[i]->id, w))
      return &s->slots[i]->id;
  if ((s->size + 1) * 2 > s->cap && rebuild(s, s->cap * 2))
    return NULL;
  struct node *n = malloc(sizeof(*n));
  if (!n)
    return NULL;
  n->id = *w;
  n->hash = h;
  n->generation = 0;
  place(s->slots, s->cap, n);
  s->size++;
  return &n->id;
}

void workload_set_mark(const struct workload_id *w, uint32_t generation) {
  ((struct node *)w)->generation = generation;
}

/* Empty slot i: move later members of its probe run into the hole
 * (backward shift), so lookups never need tombstones. */
static void remove_at(struct workload_set *s, size_t i) {
  size_t mask = s->cap - 1;
  free(s->slots[i]);
  s->slots[i] = NULL;
  s->size--;
  for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
    size_t home = s->slots[j]->hash & mask;
    if (oa_fills_hole(i, j, home)) {
      s->slots[i] = s->slots[j];
      s->slots[j] = NULL;
      i = j;
    }
  }
}

size_t workload_set_sweep(struct workload_set *s, uint32_t generation) {
  for (size_t i = 0; i < s->cap;) {
    if (s->slots[i] && s->slots[i]->generation != generation)
      remove_at(s, i); /* a shifted member may now be here: check it */
    else
      i++;
  }
  return s->size;
}

size_t workload_set_size(const struct workload_set *s) {
  return s->size;
}

// SPDX-License-Identifier: GPL-2.0-only
/* Growing an array to hold at least `need` elements, by doubling. */
#ifndef KEPLER_ARRAY_GROW_H
#define KEPLER_ARRAY_GROW_H

#include <stdlib.h>

/* *array holds *cap elements of `size` bytes. Grows it (to 64, then by
 * doubling) when need > *cap. On failure returns -1 with *array and *cap
 * unchanged, so a caller's capacity always tells the array's true size. */
static inline int array_grow(void **array, size_t *cap, size_t need,
                             size_t size) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 64;
  while (n < need)
    n *= 2;
  void *p = realloc(*array, n * size);
  if (!p)
    return -1;
  *array = p;
  *cap = n;
  return 0;
}

#endif

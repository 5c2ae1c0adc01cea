// SPDX-License-Identifier: GPL-2.0-only
/* A sampler without BPF for the pipeline's tests: it implements
 * bpf_sampler.h, so a test binary linked with fake_sampler.c (and not
 * bpf_sampler.c) runs the pipeline on the records the test queues. */
#ifndef KEPLER_FAKE_SAMPLER_H
#define KEPLER_FAKE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "bpf_sampler.h"

#define FAKE_SAMPLER_MAX_RECORDS 64

/* What the next sampler_read returns: the records queued since the last
 * read, at a clock dt_s after the last read's, over a window of dt_s. */
void fake_sampler_add(uint32_t tgid, uint64_t start_ns, uint64_t cpu_ns,
                      uint32_t flags, const char *comm);
void fake_sampler_advance(double dt_s);
/* The next read fails with -err (0: no failure). */
void fake_sampler_fail_next_read(int err);
/* The options the pipeline opened the sampler with; reads since. */
const struct sampler_options *fake_sampler_options(void);
unsigned fake_sampler_reads(void);
/* A fresh sampler for the next test (sampler_close does not reset). */
void fake_sampler_reset(void);

#endif

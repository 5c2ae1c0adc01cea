// SPDX-License-Identifier: GPL-2.0-only
#include "fake_sampler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpf_sampler {
  struct sampler_features features;
};

/* One sampler at a time: the pipeline opens one. */
static struct {
  struct task_record queued[FAKE_SAMPLER_MAX_RECORDS];
  size_t nqueued;
  struct task_record returned[FAKE_SAMPLER_MAX_RECORDS];
  uint64_t mono_ns, window_ns;
  int fail_err;
  unsigned reads;
  struct sampler_options opened;
} fake = {.mono_ns = 1000000000};

void fake_sampler_reset(void) {
  memset(&fake, 0, sizeof(fake));
  fake.mono_ns = 1000000000;
}

void fake_sampler_add(uint32_t tgid, uint64_t start_ns, uint64_t cpu_ns,
                      uint32_t flags, const char *comm) {
  if (fake.nqueued == FAKE_SAMPLER_MAX_RECORDS)
    abort(); /* a test queues more than it said it would */
  struct task_record *r = &fake.queued[fake.nqueued++];
  memset(r, 0, sizeof(*r));
  r->key.tgid = tgid;
  r->key.start_ns = start_ns;
  r->cpu_ns = cpu_ns;
  r->flags = flags;
  snprintf(r->comm, sizeof(r->comm), "%s", comm);
}

void fake_sampler_advance(double dt_s) {
  fake.window_ns = (uint64_t)(dt_s * 1e9);
  fake.mono_ns += fake.window_ns;
}

void fake_sampler_fail_next_read(int err) {
  fake.fail_err = err;
}

const struct sampler_options *fake_sampler_options(void) {
  return &fake.opened;
}

unsigned fake_sampler_reads(void) {
  return fake.reads;
}

int sampler_open(const struct sampler_options *opt, struct bpf_sampler **out,
                 char *err, size_t errlen) {
  struct bpf_sampler *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  fake.opened = *opt;
  s->features.page_cache = opt->page_cache;
  s->features.softirq = opt->softirq;
  *out = s;
  return 0;
}

const struct sampler_features *sampler_available(const struct bpf_sampler *s) {
  return &s->features;
}

const char *sampler_hooks(const struct bpf_sampler *s) {
  (void)s;
  return "fake";
}

int sampler_read(struct bpf_sampler *s, const struct task_record **records,
                 size_t *nrecords, struct node_sample *node) {
  (void)s;
  fake.reads++;
  if (fake.fail_err) {
    int err = fake.fail_err;
    fake.fail_err = 0;
    return -err;
  }
  memcpy(fake.returned, fake.queued, fake.nqueued * sizeof(*fake.queued));
  *records = fake.returned;
  *nrecords = fake.nqueued;
  fake.nqueued = 0;
  memset(node, 0, sizeof(*node));
  node->mono_ns = fake.mono_ns;
  node->window_ns = fake.window_ns;
  return 0;
}

void sampler_request_full_walk(struct bpf_sampler *s) {
  (void)s;
}

void sampler_close(struct bpf_sampler *s) {
  free(s);
}

// SPDX-License-Identifier: GPL-2.0-only
/* Container names looked up on a thread of their own: a runtime's record
 * file can be 4 MiB of JSON (podman's containers.json) on a disk that can
 * stall, and collectd's read thread must not parse it, nor wait for it
 * without a bound. The read hands a container over and waits for its names
 * a bounded time (they usually take well under a millisecond), so its
 * series is named from its first interval; a lookup slower than that
 * delivers at a later read. No collectd headers. */
#ifndef KEPLER_RUNTIME_NAMES_WORKER_H
#define KEPLER_RUNTIME_NAMES_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup_identity.h"
#include "runtime_names.h"

struct runtime_names_worker;

/* Start the thread that looks names up in the files under root (as
 * runtime_names_lookup; root must stay valid until
 * runtime_names_worker_stop). 0, or -ENOMEM, or pthread_create's -errno. */
int runtime_names_worker_start(const char *root,
                               struct runtime_names_worker **out);
/* Queue the lookup of container id of runtime rt; it does not wait for the
 * files. 0, -EINVAL for an id too long to be one, -ENOMEM. */
int runtime_names_worker_request(struct runtime_names_worker *w,
                                 enum container_runtime rt, const char *id);
/* Wait until no lookup is queued or in progress, or deadline_ns
 * (CLOCK_MONOTONIC) passed: whether the worker is idle. */
bool runtime_names_worker_wait(struct runtime_names_worker *w,
                               uint64_t deadline_ns);
/* Hand each lookup finished since the last call to found(ctx, id, names) on
 * the caller's thread, without waiting for one in progress. A lookup that
 * found nothing hands empty names (runtime_names_lookup logged why). */
void runtime_names_worker_collect(
    struct runtime_names_worker *w,
    void (*found)(void *ctx, const char *id,
                  const struct container_names *names),
    void *ctx);
/* End the thread (after the lookup in progress; the queued ones are
 * dropped), wait for it and free w. */
void runtime_names_worker_stop(struct runtime_names_worker *w);

#endif

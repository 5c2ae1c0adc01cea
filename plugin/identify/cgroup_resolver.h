// SPDX-License-Identifier: GPL-2.0-only
/* The workload of a process, from its cgroup v2 id (as the BPF side sees it)
 * with /proc/PID/cgroup for what v2 cannot tell (cgroup v1 and hybrid
 * containers). Cached by cgroup id; no tree walks. No collectd headers. */
#ifndef KEPLER_CGROUP_RESOLVER_H
#define KEPLER_CGROUP_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup_identity.h"

struct cgroup_resolver;

/* proc_root is normally "/proc"; mountinfo is read from it to find the
 * cgroup v2 mount (none on pure v1 hosts: /proc/PID/cgroup only). */
struct cgroup_resolver *cgroup_resolver_new(const char *proc_root);
void cgroup_resolver_free(struct cgroup_resolver *r);

void cgroup_resolver_identify(struct cgroup_resolver *r, uint32_t pid,
                              uint64_t cgroup_id, bool kthread,
                              struct workload_id *out);

#endif

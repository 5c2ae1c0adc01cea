// SPDX-License-Identifier: GPL-2.0-only
/* Human names of a container (its own, and its Kubernetes pod's) from the
 * files its runtime leaves on disk, with no runtime API call: docker's
 * config.v2.json, the OCI spec in a containerd or cri-o bundle, podman's
 * containers.json; an LXC container's name is its id. No collectd
 * headers. */
#ifndef KEPLER_RUNTIME_NAMES_H
#define KEPLER_RUNTIME_NAMES_H

#include "cgroup_identity.h"

/* Record files larger than this are refused (podman's containers.json lists
 * every container of the host, a few KiB each). */
#define RUNTIME_NAMES_MAX_FILE (4 * 1024 * 1024)

#define CONTAINER_NAME_LEN 256
#define POD_NAME_LEN 254     /* a DNS subdomain, 253 characters */
#define POD_NAMESPACE_LEN 64 /* a DNS label, 63 characters */

struct container_names {
  /* docker's name without its '/', podman's first name, or the
   * container's name in its pod; longer names are truncated. */
  char name[CONTAINER_NAME_LEN];
  char pod_name[POD_NAME_LEN];           /* "" outside Kubernetes */
  char pod_namespace[POD_NAMESPACE_LEN]; /* "" outside Kubernetes */
};

/* Look up the names of container id of runtime rt in the files under root
 * ("/" or NULL for the host; a test tree otherwise). *out is always
 * cleared. Returns
 *   0         found (a field the record lacks stays "")
 *   -ENOENT   the runtime has no record of id under root
 *   -ENODATA  the record exists but names nothing
 *   -EBADMSG  a record file that is not the JSON expected
 *   -EFBIG    a record file larger than RUNTIME_NAMES_MAX_FILE
 *   -EINVAL   no runtime, or an id that cannot be a file name
 *   -errno    the file could not be read.
 * A broken file is logged with its path; when a runtime keeps several
 * files, a later good one still answers. */
int runtime_names_lookup(const char *root, enum container_runtime rt,
                         const char *id, struct container_names *out);

#endif

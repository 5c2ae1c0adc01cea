// SPDX-License-Identifier: GPL-2.0-only
/* Another copy of the plugin's BPF programs on this host: a second collectd
 * with the plugin loaded (or a test, a benchmark). Each copy counts the
 * same processes, so two daemons with one Hostname interleave the same
 * series; collectd cannot tell. No collectd headers. */
#ifndef KEPLER_BPF_PEER_H
#define KEPLER_BPF_PEER_H

#include <stddef.h>
#include <sys/types.h>

/* Who holds a copy: pid 0 when no process under proc_root shows it (the
 * copy is pinned, or /proc is not the host's). */
struct bpf_peer {
  pid_t pid;
  char comm[16];
};

/* The copies of the plugin's programs loaded now (found by the name of the
 * one program every copy loads), the holder of the first in *peer. Call it
 * before loading ours. 0 when there is none or the kernel does not let us
 * list programs. */
int bpf_peer_find(const char *proc_root, struct bpf_peer *peer);

/* One WARNING naming the holder when bpf_peer_find finds a copy: a second
 * collectd with one Hostname interleaves the same series, and collectd
 * says nothing of it. */
void bpf_peer_warn(const char *proc_root);

#endif

// SPDX-License-Identifier: GPL-2.0-only
/* Attach the empty sched_switch program (floor.bpf.c) and hold it until
 * stdin closes. Prints the program id once attached, for bpftool. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "floor.skel.h"

int main(void) {
  struct floor_bpf *skel = floor_bpf__open_and_load();
  if (!skel) {
    fprintf(stderr, "floor: cannot load the empty program: %s\n",
            strerror(errno));
    return 1;
  }
  int err = floor_bpf__attach(skel);
  if (err) {
    fprintf(stderr, "floor: cannot attach to sched_switch: %s\n",
            strerror(-err));
    floor_bpf__destroy(skel);
    return 1;
  }
  struct bpf_prog_info info = {0};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.floor_sched_switch),
                             &info, &len)) {
    fprintf(stderr, "floor: cannot read the program id: %s\n", strerror(errno));
    floor_bpf__destroy(skel);
    return 1;
  }
  printf("%u\n", info.id);
  fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
    ;
  floor_bpf__destroy(skel);
  return 0;
}

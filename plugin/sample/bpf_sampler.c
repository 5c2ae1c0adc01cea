// SPDX-License-Identifier: GPL-2.0-only
#include "bpf_sampler.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "array_grow.h"
#include "bpf_peer.h"
#include "kepler.skel.h"
#include "log.h"
#include "mono_clock.h"
#include "outside_text.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* bytes asked of each read() of the iterator: the kernel fills at most its
 * seq_file buffer (8 pages) per call */
#define ITER_CHUNK (64 * 1024)

struct bpf_sampler {
  struct kepler_bpf *skel;
  struct bpf_link *iter;
  struct ring_buffer *exits;
  struct sampler_features available;
  char hooks[256];
  unsigned ncpus; /* possible CPUs: per-CPU map slots */
  int *perf_fds;  /* KEPLER_HW_COUNTERS x ncpus, -1 where not open */
  __u64 *errs;    /* per-CPU read buffer */
  struct task_record *records;
  size_t nrecords, records_cap;
  bool carry; /* the last read failed: its records are still to hand over */
  uint64_t last_before_ns; /* start of the previous sample's reads */
};

/* libbpf's first warning since the load began: the cause of a failed load
 * (the warnings after it unwind the load), quoted by the plugin's own line.
 * libbpf's print callback is process-wide; the sampler loads from one
 * thread, collectd's init. */
static char load_cause[OUTSIDE_TEXT_LEN];

/* libbpf warns while the load runs, before anyone knows whether the failure
 * is fatal or only costs an optional hook, and it warns over many lines
 * ("try raising 'ulimit -l'?" on any EPERM, "failed to load BPF skeleton"
 * after any failure). So all of it is debug; the plugin's own ERROR, or its
 * optional hook line, names the cause: load_cause. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
                        va_list ap) {
  if (level == LIBBPF_DEBUG)
    return 0;
  char buf[512];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  size_t len = strlen(buf);
  if (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (level == LIBBPF_WARN && !load_cause[0])
    outside_text(load_cause, sizeof(load_cause), buf, len);
  kepler_log(KLOG_DEBUG, "kepler: %s", buf);
  return n;
}

/* An optional hook that is off although it was asked for: a kernel without
 * it is normal, and only the features it feeds are missing, hence one INFO
 * line. The hook is named by the option that turns it off. */
static void optional_hook_missing(const char *hook, const char *reason,
                                  const char *missing) {
  kepler_log(KLOG_INFO, "kepler: optional hook %s not loaded (%s); %s",
             hook, reason, missing);
}

#define PAGE_CACHE_MISSING "bpf_page_cache_hit is not reported"

static bool has_capability(const struct __user_cap_data_struct data[2],
                           int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

/* Tracing programs need CAP_BPF + CAP_PERFMON (5.8+) or CAP_SYS_ADMIN. */
static int check_privileges(char *err, size_t errlen) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {0};
  if (syscall(SYS_capget, &hdr, data) != 0)
    return 0; /* cannot tell: let the load say what is wrong */
  if (has_capability(data, CAP_SYS_ADMIN))
    return 0;
  bool bpf = has_capability(data, CAP_BPF);
  bool perfmon = has_capability(data, CAP_PERFMON);
  if (bpf && perfmon)
    return 0;
  snprintf(err, errlen,
           "missing capability %s%s%s (or CAP_SYS_ADMIN) to load eBPF "
           "tracing programs: run collectd as root or grant them",
           bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "",
           perfmon ? "" : "CAP_PERFMON");
  return -1;
}

static bool kernel_has(const struct btf *vmlinux, const char *name,
                       __u32 kind) {
  return vmlinux && btf__find_by_name_kind(vmlinux, name, kind) > 0;
}

/* BTF, then each kernel feature the sampler cannot do without, named. */
static int check_kernel(const struct btf *vmlinux, char *err, size_t errlen) {
  if (!vmlinux) {
    snprintf(err, errlen,
             "kernel BTF not found (/sys/kernel/btf/vmlinux: %s): the kernel "
             "needs CONFIG_DEBUG_INFO_BTF=y for CO-RE eBPF",
             strerror(errno));
    return -1;
  }
  static const struct {
    const char *what, *name;
    __u32 kind;
  } needs[] = {
      {"the BPF task iterator (Linux 5.8+)", "bpf_iter_task", BTF_KIND_FUNC},
      {"BPF task local storage (Linux 5.11+)", "bpf_task_storage_get",
       BTF_KIND_FUNC},
      {"the BPF ring buffer (Linux 5.8+)", "bpf_ringbuf_output", BTF_KIND_FUNC},
  };
  for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
    if (!kernel_has(vmlinux, needs[i].name, needs[i].kind)) {
      snprintf(err, errlen, "this kernel lacks %s (no %s in its BTF)",
               needs[i].what, needs[i].name);
      return -1;
    }
  return 0;
}

static void close_perf_events(struct bpf_sampler *s) {
  for (unsigned i = 0; s->perf_fds && i < KEPLER_HW_COUNTERS * s->ncpus; i++)
    if (s->perf_fds[i] >= 0)
      close(s->perf_fds[i]);
  free(s->perf_fds);
  s->perf_fds = NULL;
}

/* Open cycles, instructions and LLC misses on every online CPU, as one
 * group per CPU (cycles leading): scheduled onto the PMU together, so the
 * leader's enabled/running times scale all three. Any failure (no PMU in
 * most VMs: ENOENT/EOPNOTSUPP) makes the features unavailable, never zero.
 * With software, context-switch counts stand in for all three: like a
 * hardware counter their read has no clock read of its own, and each slice
 * counts exactly 1, which a test can check. */
static bool open_perf_events(struct bpf_sampler *s, bool software) {
  static const __u64 config[KEPLER_HW_COUNTERS] = {
      [KEPLER_COUNT_CYCLES] = PERF_COUNT_HW_CPU_CYCLES,
      [KEPLER_COUNT_INSTRUCTIONS] = PERF_COUNT_HW_INSTRUCTIONS,
      [KEPLER_COUNT_CACHE_MISSES] = PERF_COUNT_HW_CACHE_MISSES,
  };
  s->perf_fds = malloc(sizeof(int) * KEPLER_HW_COUNTERS * s->ncpus);
  if (!s->perf_fds)
    return false;
  for (unsigned i = 0; i < KEPLER_HW_COUNTERS * s->ncpus; i++)
    s->perf_fds[i] = -1;
  unsigned opened = 0;
  for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
    for (int hw = 0; hw < KEPLER_HW_COUNTERS; hw++) {
      struct perf_event_attr attr = {
          .type = software ? PERF_TYPE_SOFTWARE : PERF_TYPE_HARDWARE,
          .size = sizeof(attr),
          .config = software ? PERF_COUNT_SW_CONTEXT_SWITCHES : config[hw],
      };
      int leader = hw == 0 ? -1 : s->perf_fds[cpu];
      long fd = syscall(SYS_perf_event_open, &attr, -1, (int)cpu, leader,
                        PERF_FLAG_FD_CLOEXEC);
      if (fd < 0 && errno == ENODEV && hw == 0)
        break; /* offline CPU */
      if (fd < 0) {
        kepler_log(KLOG_INFO,
                   "kepler: hardware counters unavailable: perf_event_open "
                   "(cpu %u): %s; cycles, instructions and cache misses are "
                   "not reported",
                   cpu, strerror(errno));
        close_perf_events(s);
        return false;
      }
      s->perf_fds[hw * s->ncpus + cpu] = (int)fd;
      opened++;
    }
  }
  return opened > 0;
}

static int fill_perf_event_maps(struct bpf_sampler *s) {
  struct bpf_map *maps[KEPLER_HW_COUNTERS] = {
      [KEPLER_COUNT_CYCLES] = s->skel->maps.hw_cycles,
      [KEPLER_COUNT_INSTRUCTIONS] = s->skel->maps.hw_instructions,
      [KEPLER_COUNT_CACHE_MISSES] = s->skel->maps.hw_cache_misses,
  };
  for (int hw = 0; hw < KEPLER_HW_COUNTERS; hw++)
    for (__u32 cpu = 0; cpu < s->ncpus; cpu++) {
      int fd = s->perf_fds[hw * s->ncpus + cpu];
      if (fd >= 0 &&
          bpf_map_update_elem(bpf_map__fd(maps[hw]), &cpu, &fd, BPF_ANY))
        return -errno;
    }
  return 0;
}

/* Load only the programs in use: with no hardware counters nothing runs on
 * the context-switch path. Page cache hook targets that exist on this
 * kernel. */
static void choose_programs(struct bpf_sampler *s,
                            const struct sampler_options *opt,
                            const struct btf *vmlinux) {
  struct kepler_bpf *k = s->skel;
  bpf_program__set_autoload(k->progs.kepler_sched_switch,
                            s->available.hw_counters);
  bpf_program__set_autoload(k->progs.kepler_process_fork,
                            s->available.hw_counters);

  s->available.page_cache = false;
  const char *accessed = NULL, *dirty = NULL;
  if (opt->page_cache) {
    /* Most callers use the folio API directly since 5.16; the page wrapper
     * alone would miss them. */
    if (kernel_has(vmlinux, "folio_mark_accessed", BTF_KIND_FUNC))
      accessed = "folio_mark_accessed";
    else if (kernel_has(vmlinux, "mark_page_accessed", BTF_KIND_FUNC))
      accessed = "mark_page_accessed";
    if (kernel_has(vmlinux, "btf_trace_writeback_dirty_folio",
                   BTF_KIND_TYPEDEF))
      dirty = "writeback_dirty_folio";
    else if (kernel_has(vmlinux, "btf_trace_writeback_dirty_page",
                        BTF_KIND_TYPEDEF))
      dirty = "writeback_dirty_page";
  }
  if (accessed && dirty) {
    bpf_program__set_attach_target(k->progs.kepler_page_accessed, 0, accessed);
    bpf_program__set_attach_target(k->progs.kepler_writeback_dirty, 0, dirty);
    s->available.page_cache = true;
  } else {
    if (opt->page_cache)
      optional_hook_missing("PageCache",
                            "no folio_mark_accessed or mark_page_accessed, or "
                            "no writeback_dirty_folio or writeback_dirty_page "
                            "tracepoint, in the kernel's BTF",
                            PAGE_CACHE_MISSING);
    bpf_program__set_autoload(k->progs.kepler_page_accessed, false);
    bpf_program__set_autoload(k->progs.kepler_writeback_dirty, false);
  }
  s->available.softirq = opt->softirq;
  bpf_program__set_autoload(k->progs.kepler_softirq_entry, opt->softirq);
}

static int attach(struct bpf_program *prog, struct bpf_link **link) {
  *link = bpf_program__attach(prog);
  if (!*link)
    return -errno;
  return 0;
}

static void describe_hooks(struct bpf_sampler *s, bool software) {
  snprintf(s->hooks, sizeof(s->hooks),
           "iter/task, sched_process_exit, sched_process_free, "
           "sched_process_exec%s%s%s",
           s->available.softirq ? ", softirq_entry" : "",
           s->available.page_cache ? ", page cache (2)" : "",
           !s->available.hw_counters ? ""
           : software ? ", sched_switch and sched_process_fork (software "
                        "events for hardware counters)"
                      : ", sched_switch and sched_process_fork (hardware "
                        "counters)");
}

/* Mandatory programs must attach; an optional one that does not only turns
 * its feature off. */
static int attach_all(struct bpf_sampler *s, char *err, size_t errlen) {
  struct kepler_bpf *k = s->skel;
  static const char hw_missing[] =
      "cpu_cycles, cpu_instructions and cache_miss are not reported";
  static const char softirq_missing[] =
      "bpf_net_rx_irq, bpf_net_tx_irq and bpf_block_irq are not reported";
  struct {
    struct bpf_program *prog;
    struct bpf_link **link;
    bool *feature; /* NULL: mandatory */
    const char *hook, *missing;
  } hooks[] = {
      /* The exit path first: a task the iterator reads must also be seen
       * leaving, or its last amounts would be lost. */
      {k->progs.kepler_thread_exit, &k->links.kepler_thread_exit, NULL, NULL,
       NULL},
      {k->progs.kepler_process_free, &k->links.kepler_process_free, NULL, NULL,
       NULL},
      {k->progs.kepler_process_exec, &k->links.kepler_process_exec, NULL, NULL,
       NULL},
      {k->progs.kepler_process_fork, &k->links.kepler_process_fork,
       &s->available.hw_counters, "HardwareCounters", hw_missing},
      {k->progs.kepler_sched_switch, &k->links.kepler_sched_switch,
       &s->available.hw_counters, "HardwareCounters", hw_missing},
      {k->progs.kepler_softirq_entry, &k->links.kepler_softirq_entry,
       &s->available.softirq, "SoftIRQ", softirq_missing},
      {k->progs.kepler_page_accessed, &k->links.kepler_page_accessed,
       &s->available.page_cache, "PageCache", PAGE_CACHE_MISSING},
      {k->progs.kepler_writeback_dirty, &k->links.kepler_writeback_dirty,
       &s->available.page_cache, "PageCache", PAGE_CACHE_MISSING},
  };
  for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
    if (hooks[i].feature && !*hooks[i].feature)
      continue;
    int rc = attach(hooks[i].prog, hooks[i].link);
    if (rc == 0)
      continue;
    if (!hooks[i].feature) {
      snprintf(err, errlen, "cannot attach %s: %s",
               bpf_program__section_name(hooks[i].prog), strerror(-rc));
      return -1;
    }
    /* A hook's first program that fails turns its feature off, and the
     * check above skips its other one: one line per hook. */
    char reason[128];
    snprintf(reason, sizeof(reason), "cannot attach %s: %s",
             bpf_program__section_name(hooks[i].prog), strerror(-rc));
    optional_hook_missing(hooks[i].hook, reason, hooks[i].missing);
    *hooks[i].feature = false;
  }
  /* A page cache hook whose partner failed must not count half the hits;
   * hardware counters without the switch hook are never charged. */
  if (!s->available.page_cache) {
    bpf_link__destroy(k->links.kepler_page_accessed);
    bpf_link__destroy(k->links.kepler_writeback_dirty);
    k->links.kepler_page_accessed = k->links.kepler_writeback_dirty = NULL;
  }
  if (!s->available.hw_counters) {
    bpf_link__destroy(k->links.kepler_sched_switch);
    bpf_link__destroy(k->links.kepler_process_fork);
    k->links.kepler_sched_switch = k->links.kepler_process_fork = NULL;
  }
  s->iter = bpf_program__attach_iter(k->progs.kepler_iter_task, NULL);
  if (!s->iter) {
    snprintf(err, errlen, "cannot attach the task iterator: %s",
             strerror(errno));
    return -1;
  }
  return 0;
}

static int load(struct bpf_sampler *s, const struct sampler_options *opt,
                const struct btf *vmlinux, char *err, size_t errlen) {
  s->skel = kepler_bpf__open();
  if (!s->skel) {
    snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
    return -1;
  }
  if (opt->ring_bytes)
    bpf_map__set_max_entries(s->skel->maps.exits, (__u32)opt->ring_bytes);
  choose_programs(s, opt, vmlinux);
  s->skel->rodata->counting = s->available.hw_counters ||
                              s->available.softirq || s->available.page_cache;

  load_cause[0] = '\0';
  int rc = kepler_bpf__load(s->skel);
  if (rc && s->available.page_cache) {
    /* fexit needs ftrace direct calls, which some kernels lack or refuse:
     * try without the page cache hooks, and blame them only if that loads.
     * The other optional programs are tp_btf, as the mandatory ones are:
     * where they fail, so does the sampler. */
    char cause[sizeof(load_cause)];
    snprintf(cause, sizeof(cause), "%s",
             load_cause[0] ? load_cause : strerror(-rc));
    kepler_bpf__destroy(s->skel);
    struct sampler_options without = *opt;
    without.page_cache = false;
    if (load(s, &without, vmlinux, err, errlen))
      return -1;
    optional_hook_missing("PageCache", cause, PAGE_CACHE_MISSING);
    return 0;
  }
  if (rc) {
    snprintf(err, errlen,
             "cannot load the BPF programs: %s%s%s (kernel 5.11+ with BTF, "
             "tp_btf, task iterators and task storage is needed)",
             strerror(-rc), load_cause[0] ? "; " : "", load_cause);
    return -1;
  }
  if (s->available.hw_counters && (rc = fill_perf_event_maps(s))) {
    snprintf(err, errlen, "cannot set up hardware counters: %s", strerror(-rc));
    return -1;
  }
  return 0;
}

/* Room for at least need records. */
/* Room for need records (the iterator's chunks, the ring's records). */
static int reserve_records(struct bpf_sampler *s, size_t need) {
  return array_grow((void **)&s->records, &s->records_cap, need,
                    sizeof(*s->records))
             ? -ENOMEM
             : 0;
}

static int on_exit_record(void *ctx, void *data, size_t size) {
  struct bpf_sampler *s = ctx;
  if (size < sizeof(struct task_record))
    return 0;
  if (reserve_records(s, s->nrecords + 1))
    return -ENOMEM;
  memcpy(&s->records[s->nrecords++], data, sizeof(struct task_record));
  return 0;
}

int sampler_open(const struct sampler_options *opt, struct bpf_sampler **out,
                 char *err, size_t errlen) {
  if (check_privileges(err, errlen))
    return -1;
  struct btf *vmlinux = btf__load_vmlinux_btf();
  if (libbpf_get_error(vmlinux))
    vmlinux = NULL;
  if (check_kernel(vmlinux, err, errlen)) {
    btf__free(vmlinux);
    return -1;
  }
  libbpf_set_print(libbpf_print);
  bpf_peer_warn(opt->proc_root);

  struct bpf_sampler *s = calloc(1, sizeof(*s));
  int ncpus = libbpf_num_possible_cpus();
  if (s) {
    s->ncpus = ncpus > 0 ? (unsigned)ncpus : 1;
    s->errs = calloc(s->ncpus, sizeof(*s->errs));
  }
  if (!s || !s->errs || reserve_records(s, 1024)) {
    snprintf(err, errlen, "out of memory");
    btf__free(vmlinux);
    sampler_close(s);
    return -1;
  }
  bool hw = opt->hw_counters || opt->software_counters;
  s->available.hw_counters = hw && open_perf_events(s, opt->software_counters);
  int rc = load(s, opt, vmlinux, err, errlen);
  btf__free(vmlinux);
  if (rc == 0)
    s->skel->bss->started_ns = mono_clock_ns();
  if (rc || attach_all(s, err, errlen)) {
    sampler_close(s);
    return -1;
  }
  s->exits = ring_buffer__new(bpf_map__fd(s->skel->maps.exits), on_exit_record,
                              s, NULL);
  if (!s->exits) {
    snprintf(err, errlen, "cannot open the exit ring buffer: %s",
             strerror(errno));
    sampler_close(s);
    return -1;
  }
  describe_hooks(s, opt->software_counters);
  s->last_before_ns = mono_clock_ns();
  *out = s;
  return 0;
}

const struct sampler_features *sampler_available(const struct bpf_sampler *s) {
  return &s->available;
}

const char *sampler_hooks(const struct bpf_sampler *s) {
  return s->hooks;
}

void sampler_request_full_walk(struct bpf_sampler *s) {
  s->skel->bss->full_walk = true;
}

/* One walk of the task iterator, its records appended. */
static int walk_tasks(struct bpf_sampler *s) {
  int fd = bpf_iter_create(bpf_link__fd(s->iter));
  if (fd < 0)
    return -errno;
  int rc = 0;
  size_t partial = 0; /* bytes of a record cut by the chunk's end */
  for (;;) {
    size_t room = ITER_CHUNK / sizeof(struct task_record) + 1;
    if ((rc = reserve_records(s, s->nrecords + room)))
      break;
    char *at = (char *)&s->records[s->nrecords] + partial;
    ssize_t n = read(fd, at, room * sizeof(struct task_record) - partial);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0)
      break;
    size_t bytes = partial + (size_t)n;
    s->nrecords += bytes / sizeof(struct task_record);
    /* A record cut by the chunk's end: its head is already where the
     * next read appends the rest. */
    partial = bytes % sizeof(struct task_record);
  }
  close(fd);
  return rc;
}

int sampler_read(struct bpf_sampler *s, const struct task_record **records,
                 size_t *nrecords, struct node_sample *node) {
  memset(node, 0, sizeof(*node));
  /* Records are deltas the programs have committed: what a failed read
   * got stays for the next one. */
  if (!s->carry)
    s->nrecords = 0;
  s->carry = true;
  /* The counters are as of some moment during the reads: take the middle.
   * A clock read after them would, if this thread is preempted in between
   * (a busy host), stretch this interval and shrink the next, which then
   * shows more CPU time per second than the machine has. */
  uint64_t before_ns = mono_clock_ns();
  node->full_walk = s->skel->bss->full_walk;
  int rc = walk_tasks(s);
  if (rc)
    return rc;
  /* Exits after the walk: a process whose last thread exits during the
   * walk is skipped by the rest of it, and its final record, sent at that
   * exit, is then in this read rather than the next. */
  if ((rc = ring_buffer__consume(s->exits)) < 0)
    return rc;
  s->skel->bss->full_walk = false;
  s->carry = false;
  uint64_t after_ns = mono_clock_ns();
  node->mono_ns = before_ns + (after_ns - before_ns) / 2;
  node->window_ns = after_ns - s->last_before_ns;
  s->last_before_ns = before_ns;

  for (__u32 e = 0; e < KEPLER_ERR_MAX; e++)
    if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.kepler_errors), &e,
                            s->errs) == 0)
      for (unsigned cpu = 0; cpu < s->ncpus; cpu++)
        node->errors[e] += s->errs[cpu];

  *records = s->records;
  *nrecords = s->nrecords;
  return 0;
}

void sampler_close(struct bpf_sampler *s) {
  if (!s)
    return;
  ring_buffer__free(s->exits);
  bpf_link__destroy(s->iter);
  kepler_bpf__destroy(s->skel);
  close_perf_events(s);
  free(s->errs);
  free(s->records);
  free(s);
}

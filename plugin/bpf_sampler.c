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

#include "kepler.skel.h"
#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define BATCH 1024    /* entries per BPF_MAP_LOOKUP_BATCH call */
#define STATE_TRIES 4 /* copies of the CPU states until each one is whole */

/* What one CPU holds pending for one process (struct cpu_state). */
struct pending_amount {
  struct proc_key key;
  uint64_t ns;
  uint64_t hw[KEPLER_HW_MAX];
};

struct bpf_sampler {
  struct kepler_bpf *skel;
  struct sampler_features available;
  unsigned ncpus;         /* possible CPUs: per-CPU map slots */
  int *perf_fds;          /* KEPLER_HW_MAX x ncpus, -1 where not open */
  struct cpu_state *cpus; /* per-CPU read buffer */
  struct inflight_slice *inflight; /* per CPU: the slice running */
  /* Per CPU: the state (seq_begin) and running time credited at the last
   * sample: a slice still running has grown by at most the time since. */
  struct {
    uint64_t seq, ns;
  } * credited;
  struct pending_amount *pending; /* per CPU, by key: see add_pending */
  struct proc_sample *procs;
  size_t nprocs, cap;
  struct proc_key *batch_keys;
  struct proc_stats *batch_values;
  struct cpu_state *cpus_again; /* further reads: retries, changes */
  uint64_t last_mono_ns;        /* previous sample, or the open */
  uint64_t last_before_ns;      /* start of the previous sample's reads */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
                        va_list ap) {
  if (level == LIBBPF_DEBUG)
    return 0;
  char buf[512];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  if (n > 0 && buf[strlen(buf) - 1] == '\n')
    buf[strlen(buf) - 1] = '\0';
  /* libbpf explains a failure over many lines; the caller reports it once
   * as an error, so these are details. */
  kepler_log(KLOG_INFO, "kepler: %s", buf);
  return n;
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

static int check_btf(char *err, size_t errlen) {
  if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
    return 0;
  snprintf(err, errlen,
           "kernel BTF not found (/sys/kernel/btf/vmlinux: %s): the kernel "
           "needs CONFIG_DEBUG_INFO_BTF=y for CO-RE eBPF",
           strerror(errno));
  return -1;
}

static long perf_event_open(struct perf_event_attr *attr, int cpu) {
  return syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void close_perf_events(struct bpf_sampler *s) {
  for (unsigned i = 0; s->perf_fds && i < KEPLER_HW_MAX * s->ncpus; i++)
    if (s->perf_fds[i] >= 0)
      close(s->perf_fds[i]);
  free(s->perf_fds);
  s->perf_fds = NULL;
}

/* Open cycles, instructions and LLC misses on every online CPU. Any failure
 * (no PMU in most VMs: ENOENT/EOPNOTSUPP) makes the features unavailable,
 * never zero. */
static bool open_perf_events(struct bpf_sampler *s) {
  static const __u64 config[KEPLER_HW_MAX] = {
      [KEPLER_HW_CYCLES] = PERF_COUNT_HW_CPU_CYCLES,
      [KEPLER_HW_INSTRUCTIONS] = PERF_COUNT_HW_INSTRUCTIONS,
      [KEPLER_HW_CACHE_MISSES] = PERF_COUNT_HW_CACHE_MISSES,
  };
  s->perf_fds = malloc(sizeof(int) * KEPLER_HW_MAX * s->ncpus);
  if (!s->perf_fds)
    return false;
  for (unsigned i = 0; i < KEPLER_HW_MAX * s->ncpus; i++)
    s->perf_fds[i] = -1;
  unsigned opened = 0;
  for (int hw = 0; hw < KEPLER_HW_MAX; hw++) {
    for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
      struct perf_event_attr attr = {
          .type = PERF_TYPE_HARDWARE,
          .size = sizeof(attr),
          .config = config[hw],
      };
      long fd = perf_event_open(&attr, (int)cpu);
      if (fd < 0 && errno == ENODEV)
        continue; /* offline CPU */
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
  struct bpf_map *maps[KEPLER_HW_MAX] = {
      [KEPLER_HW_CYCLES] = s->skel->maps.hw_cycles,
      [KEPLER_HW_INSTRUCTIONS] = s->skel->maps.hw_instructions,
      [KEPLER_HW_CACHE_MISSES] = s->skel->maps.hw_cache_misses,
  };
  for (int hw = 0; hw < KEPLER_HW_MAX; hw++)
    for (__u32 cpu = 0; cpu < s->ncpus; cpu++) {
      int fd = s->perf_fds[hw * s->ncpus + cpu];
      if (fd >= 0 &&
          bpf_map_update_elem(bpf_map__fd(maps[hw]), &cpu, &fd, BPF_ANY))
        return -errno;
    }
  return 0;
}

static bool kernel_has(const struct btf *vmlinux, const char *name,
                       __u32 kind) {
  return vmlinux && btf__find_by_name_kind(vmlinux, name, kind) > 0;
}

/* Pick hook targets that exist on this kernel; disable the rest. */
static void choose_optional_hooks(struct bpf_sampler *s,
                                  const struct sampler_options *opt) {
  struct kepler_bpf *k = s->skel;
  struct btf *vmlinux = btf__load_vmlinux_btf();
  if (libbpf_get_error(vmlinux))
    vmlinux = NULL;

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
      kepler_log(KLOG_INFO, "kepler: page cache hooks not found in kernel "
                            "BTF; bpf_page_cache_hit is not reported");
    bpf_program__set_autoload(k->progs.kepler_page_accessed, false);
    bpf_program__set_autoload(k->progs.kepler_writeback_dirty, false);
  }
  s->available.softirq = opt->softirq;
  bpf_program__set_autoload(k->progs.kepler_softirq_entry, opt->softirq);
  btf__free(vmlinux);
}

static int attach(struct bpf_program *prog, struct bpf_link **link) {
  *link = bpf_program__attach(prog);
  if (!*link)
    return -errno;
  return 0;
}

/* Mandatory programs must attach; an optional one that does not only turns
 * its feature off. */
static int attach_all(struct bpf_sampler *s, char *err, size_t errlen) {
  struct kepler_bpf *k = s->skel;
  struct {
    struct bpf_program *prog;
    struct bpf_link **link;
    bool *feature; /* NULL: mandatory */
  } hooks[] = {
      /* Lifecycle hooks first: a process that is counted must also be seen
       * exiting, or its entry would never be reaped. */
      {k->progs.kepler_process_exit, &k->links.kepler_process_exit, NULL},
      {k->progs.kepler_process_exec, &k->links.kepler_process_exec, NULL},
      {k->progs.kepler_cgroup_attach, &k->links.kepler_cgroup_attach, NULL},
      {k->progs.kepler_sched_switch, &k->links.kepler_sched_switch, NULL},
      {k->progs.kepler_softirq_entry, &k->links.kepler_softirq_entry,
       &s->available.softirq},
      {k->progs.kepler_page_accessed, &k->links.kepler_page_accessed,
       &s->available.page_cache},
      {k->progs.kepler_writeback_dirty, &k->links.kepler_writeback_dirty,
       &s->available.page_cache},
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
    kepler_log(KLOG_WARNING,
               "kepler: cannot attach %s: %s; its feature is "
               "not reported",
               bpf_program__section_name(hooks[i].prog), strerror(-rc));
    *hooks[i].feature = false;
  }
  /* A page cache hook whose partner failed must not count half the hits. */
  if (!s->available.page_cache) {
    bpf_link__destroy(k->links.kepler_page_accessed);
    bpf_link__destroy(k->links.kepler_writeback_dirty);
    k->links.kepler_page_accessed = k->links.kepler_writeback_dirty = NULL;
  }
  return 0;
}

static int load(struct bpf_sampler *s, const struct sampler_options *opt,
                char *err, size_t errlen) {
  s->skel = kepler_bpf__open();
  if (!s->skel) {
    snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
    return -1;
  }
  bpf_map__set_max_entries(s->skel->maps.processes, opt->max_processes);
  s->skel->rodata->hw_counters = s->available.hw_counters;
  choose_optional_hooks(s, opt);

  int rc = kepler_bpf__load(s->skel);
  if (rc && s->available.page_cache) {
    /* fexit needs ftrace direct calls, which some kernels lack or refuse:
     * try without the page cache hooks, and blame them only if that loads. */
    kepler_bpf__destroy(s->skel);
    struct sampler_options without = *opt;
    without.page_cache = false;
    if (load(s, &without, err, errlen))
      return -1;
    kepler_log(KLOG_WARNING,
               "kepler: the page cache hooks do not load on this kernel "
               "(%s); bpf_page_cache_hit is not reported",
               strerror(-rc));
    return 0;
  }
  if (rc) {
    snprintf(err, errlen,
             "cannot load the BPF programs: %s (kernel 5.11+ with BTF and "
             "tp_btf support is needed)",
             strerror(-rc));
    return -1;
  }
  if (s->available.hw_counters && (rc = fill_perf_event_maps(s))) {
    snprintf(err, errlen, "cannot set up hardware counters: %s", strerror(-rc));
    return -1;
  }
  return attach_all(s, err, errlen);
}

int sampler_open(const struct sampler_options *opt, struct bpf_sampler **out,
                 char *err, size_t errlen) {
  if (check_btf(err, errlen) || check_privileges(err, errlen))
    return -1;
  libbpf_set_print(libbpf_print);

  struct bpf_sampler *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int ncpus = libbpf_num_possible_cpus();
  s->ncpus = ncpus > 0 ? (unsigned)ncpus : 1;
  s->cpus = calloc(s->ncpus, sizeof(*s->cpus));
  s->cpus_again = calloc(s->ncpus, sizeof(*s->cpus_again));
  s->inflight = calloc(s->ncpus, sizeof(*s->inflight));
  s->credited = calloc(s->ncpus, sizeof(*s->credited));
  s->pending = calloc(s->ncpus, sizeof(*s->pending));
  s->batch_keys = calloc(BATCH, sizeof(*s->batch_keys));
  s->batch_values = calloc(BATCH, sizeof(*s->batch_values));
  if (!s->cpus || !s->cpus_again || !s->inflight || !s->credited ||
      !s->pending || !s->batch_keys || !s->batch_values) {
    snprintf(err, errlen, "out of memory");
    sampler_close(s);
    return -1;
  }
  s->available.hw_counters = opt->hw_counters && open_perf_events(s);
  if (load(s, opt, err, errlen)) {
    sampler_close(s);
    return -1;
  }
  s->last_mono_ns = s->last_before_ns = monotonic_ns();
  *out = s;
  return 0;
}

const struct sampler_features *sampler_available(const struct bpf_sampler *s) {
  return &s->available;
}

static int append(struct bpf_sampler *s, const struct proc_key *keys,
                  const struct proc_stats *values, size_t n) {
  if (s->nprocs + n > s->cap) {
    size_t cap = s->cap ? s->cap : BATCH;
    while (cap < s->nprocs + n)
      cap *= 2;
    struct proc_sample *p = realloc(s->procs, cap * sizeof(*p));
    if (!p)
      return -ENOMEM;
    s->procs = p;
    s->cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    s->procs[s->nprocs].key = keys[i];
    s->procs[s->nprocs].stats = values[i];
    s->nprocs++;
  }
  return 0;
}

/* Whole map in chunks of BATCH: one syscall per chunk, not two per entry. */
static int read_batched(struct bpf_sampler *s, int fd) {
  struct proc_key token;
  bool first = true;
  for (;;) {
    __u32 count = BATCH;
    int rc = bpf_map_lookup_batch(fd, first ? NULL : &token, &token,
                                  s->batch_keys, s->batch_values, &count, NULL);
    int e = rc ? errno : 0;
    if (rc && e != ENOENT)
      return -e;
    if (append(s, s->batch_keys, s->batch_values, count))
      return -ENOMEM;
    if (e == ENOENT)
      return 0;
    first = false;
  }
}

/* How long the task on a CPU has run since it was switched in: its runtime
 * now (from schedstat, updated at every tick) minus its runtime then. */
static uint64_t running_since(const struct cpu_state *c) {
  if (c->cur.tgid == 0 || c->cur_tid == 0)
    return 0;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%u/task/%u/schedstat", c->cur.tgid,
           c->cur_tid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0; /* gone, or a kernel without CONFIG_SCHED_INFO */
  unsigned long long runtime = 0;
  int n = fscanf(f, "%llu", &runtime);
  fclose(f);
  return n == 1 && runtime > c->cur_runtime ? runtime - c->cur_runtime : 0;
}

/* Whether sched_switch wrote this CPU's state while it was copied (see
 * struct cpu_state). */
static bool torn(const struct cpu_state *c) {
  return c->seq_begin != c->seq_end;
}

/* Every CPU's state into s->cpus, each from a whole copy: CPUs torn in one
 * lookup are taken from the next, a few times. A CPU torn in all of them is
 * left empty (tgid 0: it holds nothing in flight this sample). */
static int read_cpu_states(struct bpf_sampler *s, int fd) {
  __u32 zero = 0;
  if (bpf_map_lookup_elem(fd, &zero, s->cpus))
    return -errno;
  for (int try = 1; try < STATE_TRIES; try++) {
    unsigned ntorn = 0;
    for (unsigned cpu = 0; cpu < s->ncpus; cpu++)
      ntorn += torn(&s->cpus[cpu]);
    if (ntorn == 0)
      return 0;
    if (bpf_map_lookup_elem(fd, &zero, s->cpus_again))
      return -errno;
    for (unsigned cpu = 0; cpu < s->ncpus; cpu++)
      if (torn(&s->cpus[cpu]))
        s->cpus[cpu] = s->cpus_again[cpu];
  }
  for (unsigned cpu = 0; cpu < s->ncpus; cpu++)
    if (torn(&s->cpus[cpu]))
      memset(&s->cpus[cpu], 0, sizeof(s->cpus[cpu]));
  return 0;
}

static int key_cmp(const void *a, const void *b) {
  const struct proc_key *x = a, *y = b;
  if (x->tgid != y->tgid)
    return x->tgid < y->tgid ? -1 : 1;
  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  return 0;
}

/* Add the slices the CPUs hold pending to their processes' counters. They
 * are over and exact, only not in the map yet: they belong with the map's
 * counts, and carry hardware counts, which running slices do not. A process
 * not in this read of the map gets them at the next, with its map entry. */
static void add_pending(struct bpf_sampler *s) {
  size_t n = 0;
  for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
    const struct cpu_state *c = &s->cpus[cpu];
    if (c->pend.tgid == 0)
      continue;
    s->pending[n].key = c->pend;
    s->pending[n].ns = c->pend_ns;
    memcpy(s->pending[n].hw, c->pend_hw, sizeof(s->pending[n].hw));
    n++;
  }
  if (n == 0)
    return;
  /* By key, one entry per process (threads of one may pend on several
   * CPUs): then one binary search per process in the map. */
  qsort(s->pending, n, sizeof(*s->pending), key_cmp);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    struct pending_amount *last = m ? &s->pending[m - 1] : NULL;
    if (!last || key_cmp(&last->key, &s->pending[i].key) != 0) {
      s->pending[m++] = s->pending[i];
      continue;
    }
    last->ns += s->pending[i].ns;
    for (int h = 0; h < KEPLER_HW_MAX; h++)
      last->hw[h] += s->pending[i].hw[h];
  }
  for (size_t i = 0; i < s->nprocs; i++) {
    struct proc_sample *p = &s->procs[i];
    const struct pending_amount *f =
        bsearch(&p->key, s->pending, m, sizeof(*s->pending), key_cmp);
    if (!f)
      continue;
    p->stats.cpu_ns += f->ns;
    for (int h = 0; h < KEPLER_HW_MAX; h++)
      p->stats.hw[h] += f->hw[h];
  }
}

int sampler_read(struct bpf_sampler *s, const struct proc_sample **procs,
                 size_t *nprocs, struct node_sample *node) {
  /* The map first, then what the CPUs hold (pending and running slices): an
   * amount that moves into the map between the two reads is in neither and
   * is counted at the next sample. The other order would count it twice (in
   * the map and from the CPU). */
  s->nprocs = 0;
  int fd = bpf_map__fd(s->skel->maps.processes);
  /* The counters are as of some moment during the reads: take the middle.
   * A clock read after them would, if this thread is preempted in between
   * (a busy host), stretch this interval and shrink the next, which then
   * shows more CPU time per second than the machine has. */
  uint64_t before_ns = monotonic_ns();
  int rc = read_batched(s, fd);
  if (rc)
    return rc;

  memset(node, 0, sizeof(*node));
  int states = bpf_map__fd(s->skel->maps.cpu_states);
  if ((rc = read_cpu_states(s, states)))
    return rc;
  node->mono_ns = before_ns + (monotonic_ns() - before_ns) / 2;
  add_pending(s);
  /* The running slice is the task's runtime now (schedstat) minus its
   * runtime at switch-in; if it was switched out meanwhile, the slice is
   * pending now, and counted from there at the next sample. So read the
   * states again after the schedstat reads and credit only CPUs that did
   * not switch in between. The credit is the whole slice so far (the map
   * gets the whole slice at its switch-out), so it may have grown since
   * the last sample by at most the time since: a cap at that time alone
   * would hold a slice longer than an interval back and let the next
   * sample count the rest at once. */
  uint64_t since = node->mono_ns - s->last_mono_ns;
  for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
    s->inflight[cpu].key = s->cpus[cpu].cur;
    uint64_t ns = running_since(&s->cpus[cpu]);
    bool same_slice = s->credited[cpu].seq == s->cpus[cpu].seq_begin;
    uint64_t cap = since + (same_slice ? s->credited[cpu].ns : 0);
    s->inflight[cpu].ns = ns < cap ? ns : cap;
  }
  __u32 zero = 0;
  if (bpf_map_lookup_elem(states, &zero, s->cpus_again))
    return -errno;
  for (unsigned cpu = 0; cpu < s->ncpus; cpu++) {
    const struct cpu_state *b = &s->cpus_again[cpu];
    if (torn(b) || b->seq_begin != s->cpus[cpu].seq_begin)
      s->inflight[cpu].ns = 0; /* counted at its switch-out instead */
    s->credited[cpu].seq = s->cpus[cpu].seq_begin;
    s->credited[cpu].ns = s->inflight[cpu].ns;
  }
  s->last_mono_ns = node->mono_ns;
  node->window_ns = monotonic_ns() - s->last_before_ns;
  s->last_before_ns = before_ns;
  node->inflight = s->inflight;
  node->ncpu_slots = s->ncpus;

  __u64 errs[s->ncpus];
  for (__u32 e = 0; e < KEPLER_ERR_MAX; e++)
    if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.kepler_errors), &e,
                            errs) == 0)
      for (unsigned cpu = 0; cpu < s->ncpus; cpu++)
        node->errors[e] += errs[cpu];

  *procs = s->procs;
  *nprocs = s->nprocs;
  return 0;
}

int sampler_forget(struct bpf_sampler *s, const struct proc_key *key) {
  if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.processes), key))
    return -errno;
  return 0;
}

void sampler_close(struct bpf_sampler *s) {
  if (!s)
    return;
  kepler_bpf__destroy(s->skel);
  close_perf_events(s);
  free(s->cpus);
  free(s->cpus_again);
  free(s->inflight);
  free(s->credited);
  free(s->pending);
  free(s->procs);
  free(s->batch_keys);
  free(s->batch_values);
  free(s);
}

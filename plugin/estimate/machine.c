// SPDX-License-Identifier: GPL-2.0-only
/* The host's hardware from /proc/cpuinfo, /proc/meminfo and sysfs, and
 * field-by-field overrides (machine_set). */
#include "machine.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array_grow.h"
#include "file_read.h"
#include "log.h"
#include "outside_text.h"

/* Whole-string parsers: no sign, no blanks, no trailing bytes. */
static bool parse_unsigned(const char *s, unsigned *out) {
  if (!isdigit((unsigned char)s[0]))
    return false;
  errno = 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v > UINT_MAX)
    return false;
  *out = (unsigned)v;
  return true;
}

static bool parse_double(const char *s, double *out) {
  if (!isdigit((unsigned char)s[0]) && s[0] != '.')
    return false;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v))
    return false;
  *out = v;
  return true;
}

static void copy_string(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src);
}

/* One "physical id" (socket) and the "cpu cores" its first CPU states. */
struct chip {
  long id;
  unsigned cores; /* 0: not stated */
};

/* One (physical id, core id): a physical core. */
struct core {
  long chip, id;
};

/* What the cpuinfo scan collects across all processor blocks. */
struct cpuinfo_scan {
  struct machine_spec *out;
  unsigned processors;
  struct chip *chips;
  size_t nchips, chips_cap;
  struct core *cores;
  size_t ncores, cores_cap;
  bool bad_alloc;
  /* The current processor block. */
  long phys, core_id;
  bool has_phys, has_core_id;
  unsigned cpu_cores;
  /* From the first processor, or the file's global lines on ARM. */
  double cpu_mhz;
  char hardware[128];
  unsigned implementer, part;
  bool has_implementer, has_part;
  bool has_cpuid[3]; /* cpu family, model, stepping seen */
};

/* Room for element n of *arr; false (noted in s) when out of memory. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem,
                 struct cpuinfo_scan *s) {
  if (array_grow(arr, cap, n + 1, elem)) {
    s->bad_alloc = true;
    return false;
  }
  return true;
}

/* Record the processor block that just ended: its socket and its core. */
static void end_processor(struct cpuinfo_scan *s) {
  long phys = s->has_phys ? s->phys : 0;
  size_t i;
  for (i = 0; i < s->nchips && s->chips[i].id != phys; i++)
    ;
  if (i == s->nchips && (s->has_phys || s->cpu_cores) &&
      grow((void **)&s->chips, &s->chips_cap, s->nchips, sizeof(*s->chips), s))
    s->chips[s->nchips++] = (struct chip){phys, s->cpu_cores};
  if (s->has_core_id) {
    for (i = 0; i < s->ncores &&
                !(s->cores[i].chip == phys && s->cores[i].id == s->core_id);
         i++)
      ;
    if (i == s->ncores && grow((void **)&s->cores, &s->cores_cap, s->ncores,
                               sizeof(*s->cores), s))
      s->cores[s->ncores++] = (struct core){phys, s->core_id};
  }
  s->has_phys = s->has_core_id = false;
  s->cpu_cores = 0;
}

static bool has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
      return true;
  return false;
}

static void warn_value(const char *path, unsigned line, const char *key,
                       const char *value) {
  char k[OUTSIDE_TEXT_LEN], v[OUTSIDE_TEXT_LEN];
  kepler_log(KLOG_WARNING, "kepler: %s:%u: \"%s\" is not a number: \"%s\"",
             path, line, OUTSIDE_STR(k, key), OUTSIDE_STR(v, value));
}

/* One "key<TAB>: value" line of cpuinfo. */
static void scan_line(struct cpuinfo_scan *s, const char *path, unsigned line,
                      const char *key, const char *value) {
  struct machine_spec *m = s->out;
  bool first = s->processors <= 1; /* before or in the first block */
  unsigned u;
  double d;
  if (strcmp(key, "processor") == 0) {
    if (s->processors)
      end_processor(s);
    s->processors++;
  } else if (strcmp(key, "model name") == 0) {
    if (first && !m->cpu[0])
      copy_string(m->cpu, sizeof(m->cpu), value);
  } else if (strcmp(key, "vendor_id") == 0) {
    if (first && !m->vendor[0])
      copy_string(m->vendor, sizeof(m->vendor), value);
  } else if (strcmp(key, "physical id") == 0 || strcmp(key, "core id") == 0) {
    bool phys = key[0] == 'p';
    if (!parse_unsigned(value, &u)) {
      warn_value(path, line, key, value);
    } else if (phys) {
      s->phys = u;
      s->has_phys = true;
    } else {
      s->core_id = u;
      s->has_core_id = true;
    }
  } else if (strcmp(key, "cpu cores") == 0) {
    if (!parse_unsigned(value, &s->cpu_cores))
      warn_value(path, line, key, value);
  } else if (strcmp(key, "cpu MHz") == 0) {
    if (!parse_double(value, &d))
      warn_value(path, line, key, value);
    else if (first && s->cpu_mhz == 0)
      s->cpu_mhz = d;
  } else if (strcmp(key, "cpu family") == 0 || strcmp(key, "model") == 0 ||
             strcmp(key, "stepping") == 0) {
    /* x86 numbers; other architectures may say "model: 2.2 (pvr ...)"
     * (POWER): not a number, silently not CPUID. */
    int i = key[0] == 'c' ? 0 : key[0] == 'm' ? 1 : 2;
    unsigned *dst[] = {&m->cpu_family, &m->cpu_model, &m->cpu_stepping};
    if (first && !s->has_cpuid[i] && parse_unsigned(value, &u)) {
      *dst[i] = u;
      s->has_cpuid[i] = true;
    }
  } else if (strcmp(key, "flags") == 0) {
    if (has_word(value, "hypervisor"))
      m->hypervisor = true;
  } else if (strcmp(key, "Hardware") == 0) {
    copy_string(s->hardware, sizeof(s->hardware), value);
  } else if (strcmp(key, "CPU implementer") == 0 ||
             strcmp(key, "CPU part") == 0) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 0); /* "0x41" */
    if (errno || *end || end == value || v > UINT_MAX)
      warn_value(path, line, key, value);
    else if (first && key[4] == 'i' && !s->has_implementer) {
      s->implementer = (unsigned)v;
      s->has_implementer = true;
    } else if (first && key[4] == 'p' && !s->has_part) {
      s->part = (unsigned)v;
      s->has_part = true;
    }
  }
}

/* ARM cpuinfo has no "model name" nor "vendor_id": only the implementer
 * and part codes (from the Arm ARM's MIDR table), sometimes a board name. */
static const struct {
  unsigned code;
  const char *name;
} arm_implementers[] = {
    {0x41, "ARM"},    {0x42, "Broadcom"}, {0x43, "Cavium"}, {0x48, "HiSilicon"},
    {0x4e, "NVIDIA"}, {0x51, "Qualcomm"}, {0x61, "Apple"},  {0xc0, "Ampere"},
};

static const struct {
  unsigned implementer, part;
  const char *name;
} arm_parts[] = {
    {0x41, 0xd03, "Cortex-A53"},  {0x41, 0xd07, "Cortex-A57"},
    {0x41, 0xd08, "Cortex-A72"},  {0x41, 0xd0b, "Cortex-A76"},
    {0x41, 0xd0c, "Neoverse-N1"}, {0x41, 0xd40, "Neoverse-V1"},
    {0x41, 0xd49, "Neoverse-N2"}, {0x41, 0xd4f, "Neoverse-V2"},
    {0xc0, 0xac3, "Ampere-1"},    {0x48, 0xd01, "Kunpeng-920"},
};

static void name_arm_cpu(const struct cpuinfo_scan *s, struct machine_spec *m) {
  if (!s->has_implementer)
    return;
  const char *vendor = NULL;
  for (size_t i = 0; i < sizeof(arm_implementers) / sizeof(*arm_implementers);
       i++)
    if (arm_implementers[i].code == s->implementer)
      vendor = arm_implementers[i].name;
  if (!m->vendor[0] && vendor)
    copy_string(m->vendor, sizeof(m->vendor), vendor);
  if (m->cpu[0])
    return;
  for (size_t i = 0; i < sizeof(arm_parts) / sizeof(*arm_parts); i++)
    if (s->has_part && arm_parts[i].implementer == s->implementer &&
        arm_parts[i].part == s->part) {
      snprintf(m->cpu, sizeof(m->cpu), "%s %s", vendor, arm_parts[i].name);
      return;
    }
  if (s->hardware[0])
    copy_string(m->cpu, sizeof(m->cpu), s->hardware);
  else if (s->has_part)
    snprintf(m->cpu, sizeof(m->cpu), "%s part 0x%03x",
             vendor ? vendor : "unknown", s->part);
}

static void finish_topology(struct cpuinfo_scan *s, struct machine_spec *m) {
  m->threads = s->processors;
  m->chips = s->nchips ? (unsigned)s->nchips : s->processors ? 1 : 0;
  unsigned stated = 0;
  bool all_stated = s->nchips > 0;
  for (size_t i = 0; i < s->nchips; i++) {
    stated += s->chips[i].cores;
    all_stated = all_stated && s->chips[i].cores;
  }
  if (all_stated)
    m->cores = stated;
  else if (s->ncores)
    m->cores = (unsigned)s->ncores;
  else /* no topology lines (ARM, some VMs): one thread per core */
    m->cores = s->processors;
}

static int read_cpuinfo(const char *path, struct machine_spec *m,
                        struct cpuinfo_scan *s, char *err, size_t errlen) {
  FILE *f = file_fopen_regular(path);
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, file_strerror(-errno));
    return -1;
  }
  s->out = m;
  char buf[8192]; /* x86 "flags" lines are ~1.5 kB */
  unsigned line = 0;
  while (fgets(buf, sizeof(buf), f)) {
    line++;
    buf[strcspn(buf, "\n")] = '\0';
    char *colon = strchr(buf, ':');
    if (!colon)
      continue;
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
      value++;
    char *kend = colon;
    while (kend > buf && (kend[-1] == ' ' || kend[-1] == '\t'))
      kend--;
    *kend = '\0';
    size_t vlen = strlen(value);
    while (vlen && isspace((unsigned char)value[vlen - 1]))
      value[--vlen] = '\0';
    scan_line(s, path, line, buf, value);
  }
  if (s->processors)
    end_processor(s);
  int rc = 0;
  if (ferror(f)) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    rc = -1;
  } else if (s->bad_alloc) {
    snprintf(err, errlen, "%s: out of memory", path);
    rc = -1;
  }
  fclose(f);
  return rc;
}

/* The first line of a small sysfs or proc file. */
static bool read_first_line(const char *path, char *buf, size_t size) {
  FILE *f = file_fopen_regular(path);
  if (!f)
    return false;
  bool ok = fgets(buf, (int)size, f) != NULL;
  fclose(f);
  if (ok)
    buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

/* A cpu list such as "0-3,8,10-11" -> 7; 0 when malformed. */
static unsigned count_cpu_list(const char *list) {
  unsigned n = 0;
  const char *p = list;
  while (*p) {
    char *end;
    unsigned long a = strtoul(p, &end, 10), b = a;
    if (end == p)
      return 0;
    p = end;
    if (*p == '-') {
      b = strtoul(++p, &end, 10);
      if (end == p || b < a)
        return 0;
      p = end;
    }
    n += (unsigned)(b - a + 1);
    if (*p == ',')
      p++;
    else if (*p)
      return 0;
  }
  return n;
}

static void read_memory(const char *proc_root, struct machine_spec *m) {
  char path[4096], buf[256];
  snprintf(path, sizeof(path), "%s/meminfo", proc_root);
  FILE *f = file_fopen_regular(path);
  if (!f)
    return;
  while (fgets(buf, sizeof(buf), f)) {
    unsigned long long kb;
    char unit[8];
    if (sscanf(buf, "MemTotal: %llu %7s", &kb, unit) == 2 &&
        strcmp(unit, "kB") == 0) {
      m->memory_gb = (double)kb / 1048576.0;
      break;
    }
  }
  fclose(f);
}

/* "... @ 2.30GHz" (Intel) or "... @ 2300MHz" in a model name; 0 if none. */
static double mhz_from_model_name(const char *name) {
  const char *at = strrchr(name, '@');
  if (!at)
    return 0;
  char *end;
  double v = strtod(at + 1, &end);
  if (end == at + 1 || !isfinite(v) || v <= 0)
    return 0;
  if (strncasecmp(end, "GHz", 3) == 0)
    return v * 1000;
  if (strncasecmp(end, "MHz", 3) == 0)
    return v;
  return 0;
}

/* A cpufreq value of cpu0 in kHz, as MHz; 0 when absent or malformed. */
static double cpufreq_mhz(const char *sysfs_root, const char *file) {
  char path[4096], buf[64];
  unsigned khz;
  snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu0/cpufreq/%s",
           sysfs_root, file);
  if (!read_first_line(path, buf, sizeof(buf)) || !parse_unsigned(buf, &khz))
    return 0;
  return khz / 1000.0;
}

/* Models are trained against the nominal clock. Intel's base_frequency is
 * that clock; the model name's "@ x GHz" states it too; "cpu MHz" is the
 * current clock of cpu0. cpuinfo_max_freq is the turbo maximum on x86 and
 * comes last: on ARM, with none of the others, it is the rated clock. */
static double nominal_mhz(const char *sysfs_root, const struct machine_spec *m,
                          double cpuinfo_mhz) {
  double mhz = cpufreq_mhz(sysfs_root, "base_frequency");
  if (mhz == 0)
    mhz = mhz_from_model_name(m->cpu);
  if (mhz == 0)
    mhz = cpuinfo_mhz;
  if (mhz == 0)
    mhz = cpufreq_mhz(sysfs_root, "cpuinfo_max_freq");
  return mhz;
}

int machine_read(const char *proc_root, const char *sysfs_root,
                 struct machine_spec *out, char *err, size_t errlen) {
  struct machine_spec m = {0};
  struct cpuinfo_scan s = {0};
  char path[4096];
  snprintf(path, sizeof(path), "%s/cpuinfo", proc_root);
  int rc = read_cpuinfo(path, &m, &s, err, errlen);
  if (rc == 0) {
    name_arm_cpu(&s, &m);
    finish_topology(&s, &m);
    if (m.threads == 0) { /* a cpuinfo without "processor" lines */
      char buf[1024];
      snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs_root);
      if (read_first_line(path, buf, sizeof(buf)))
        m.threads = count_cpu_list(buf);
      m.cores = m.cores ? m.cores : m.threads;
      m.chips = m.chips ? m.chips : m.threads ? 1 : 0;
    }
    read_memory(proc_root, &m);
    m.mhz = nominal_mhz(sysfs_root, &m, s.cpu_mhz);
    if (!s.has_cpuid[0]) /* family 0: none known */
      m.cpu_model = m.cpu_stepping = 0;
    *out = m;
  }
  free(s.chips);
  free(s.cores);
  return rc;
}

const char *const machine_keys[] = {
    "cpu", "vendor",     "chips",      "cores",     "threads",      "memory_gb",
    "mhz", "hypervisor", "cpu_family", "cpu_model", "cpu_stepping", NULL,
};

/* Words of a CPU model name that name its maker, and that maker's
 * vendor_id (ARM makers as name_arm_cpu names them). */
static const struct {
  const char *word, *vendor;
} name_vendors[] = {
    {"Intel", "GenuineIntel"},   {"AMD", "AuthenticAMD"},
    {"Hygon", "HygonGenuine"},   {"Ampere", "Ampere"},
    {"Graviton", "ARM"},         {"Neoverse", "ARM"},
    {"Cortex", "ARM"},           {"Kunpeng", "HiSilicon"},
    {"Zhaoxin", "CentaurHauls"},
};

/* Where word first occurs in s, case-insensitively and not inside a
 * longer word ("AMD" in "AMD EPYC", not in "HAMDEN"); NULL when nowhere. */
static const char *find_word(const char *s, const char *word) {
  size_t n = strlen(word);
  for (const char *p = s; *p; p++)
    if (strncasecmp(p, word, n) == 0 &&
        (p == s || !isalnum((unsigned char)p[-1])) &&
        !isalpha((unsigned char)p[n]))
      return p;
  return NULL;
}

const char *machine_vendor_from_name(const char *cpu) {
  /* The first maker the name names: "AMD EPYC (Intel compatible)" is AMD. */
  const char *vendor = NULL, *first = NULL;
  for (size_t i = 0; i < sizeof(name_vendors) / sizeof(*name_vendors); i++) {
    const char *p = find_word(cpu, name_vendors[i].word);
    if (p && (!first || p < first)) {
      first = p;
      vendor = name_vendors[i].vendor;
    }
  }
  return vendor;
}

static int set_string(char *dst, size_t size, const char *key,
                      const char *value, char *err, size_t errlen) {
  if (strlen(value) >= size) {
    snprintf(err, errlen, "machine key \"%s\": value longer than %zu bytes",
             key, size - 1);
    return -1;
  }
  copy_string(dst, size, value);
  return 0;
}

int machine_set(struct machine_spec *m, const char *key, const char *value,
                char *err, size_t errlen) {
  unsigned *count = strcmp(key, "chips") == 0     ? &m->chips
                    : strcmp(key, "cores") == 0   ? &m->cores
                    : strcmp(key, "threads") == 0 ? &m->threads
                                                  : NULL;
  if (!count)
    count = strcmp(key, "cpu_family") == 0     ? &m->cpu_family
            : strcmp(key, "cpu_model") == 0    ? &m->cpu_model
            : strcmp(key, "cpu_stepping") == 0 ? &m->cpu_stepping
                                               : NULL;
  double *real = strcmp(key, "memory_gb") == 0 ? &m->memory_gb
                 : strcmp(key, "mhz") == 0     ? &m->mhz
                                               : NULL;
  if (strcmp(key, "cpu") == 0)
    return set_string(m->cpu, sizeof(m->cpu), key, value, err, errlen);
  if (strcmp(key, "vendor") == 0)
    return set_string(m->vendor, sizeof(m->vendor), key, value, err, errlen);
  if (count) {
    if (parse_unsigned(value, count))
      return 0;
    snprintf(err, errlen,
             "machine key \"%s\" must be a whole number, got \"%s\"", key,
             value);
    return -1;
  }
  if (real) {
    if (parse_double(value, real))
      return 0;
    snprintf(err, errlen,
             "machine key \"%s\" must be a finite number >= 0, got \"%s\"", key,
             value);
    return -1;
  }
  if (strcmp(key, "hypervisor") == 0) {
    if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
      m->hypervisor = true;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
      m->hypervisor = false;
    else {
      snprintf(err, errlen,
               "machine key \"hypervisor\" must be 0, 1, true or false, "
               "got \"%s\"",
               value);
      return -1;
    }
    return 0;
  }
  size_t n =
      (size_t)snprintf(err, errlen, "unknown machine key \"%s\" (known:", key);
  for (size_t i = 0; machine_keys[i] && n < errlen; i++)
    n += (size_t)snprintf(err + n, errlen - n, "%s %s", i ? "," : "",
                          machine_keys[i]);
  if (n < errlen)
    snprintf(err + n, errlen - n, ")");
  return -1;
}

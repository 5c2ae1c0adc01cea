// SPDX-License-Identifier: GPL-2.0-only
/* What a Linux host can see of its own hardware, the inputs of
 * machine-dependent models (the embedded default) and of Kepler's
 * categorical variables. No collectd headers. */
#ifndef KEPLER_MACHINE_H
#define KEPLER_MACHINE_H

#include <stdbool.h>
#include <stddef.h>

struct machine_spec {
  char cpu[256];    /* /proc/cpuinfo "model name" of the first CPU */
  char vendor[64];  /* "vendor_id", e.g. GenuineIntel, AuthenticAMD */
  unsigned chips;   /* distinct "physical id" values (sockets) */
  unsigned cores;   /* physical cores, whole machine */
  unsigned threads; /* online hardware threads (a VM: its vCPUs) */
  double memory_gb; /* MemTotal / 2^20 kB */
  double mhz;       /* nominal clock: cpufreq base_frequency, else the
                       model name's "@ x GHz", else "cpu MHz", else
                       cpuinfo_max_freq (machine.c says why) */
  bool hypervisor;  /* the "hypervisor" CPU flag: this is a VM */
  /* What the CPU says about itself (CPUID, via cpuinfo's "cpu family",
   * "model", "stepping"), for the model's cpuid_rules when the name is
   * generic ("AMD EPYC", "Intel Xeon Processor (Icelake)"). No x86 CPU
   * has family 0: cpu_family 0 means none of the three is known. */
  unsigned cpu_family, cpu_model, cpu_stepping;
};

/* The vendor_id a CPU model name implies ("Intel ..." -> GenuineIntel,
 * "AMD ..." -> AuthenticAMD, "Ampere ..." -> Ampere, ...), NULL when the
 * name names no vendor. */
const char *machine_vendor_from_name(const char *cpu);

/* Read this host from <proc_root>/cpuinfo, <proc_root>/meminfo and
 * <sysfs_root>/devices/system/cpu. Fields that cannot be read stay 0 or
 * empty; returns -1 with a message naming the file only when cpuinfo itself
 * cannot be read. */
int machine_read(const char *proc_root, const char *sysfs_root,
                 struct machine_spec *out, char *err, size_t errlen);

/* The keys machine_set takes, NULL-terminated. */
extern const char *const machine_keys[];

/* Set one field by its key: cpu, vendor, chips, cores, threads, memory_gb,
 * mhz, hypervisor (0/1/true/false), cpu_family, cpu_model, cpu_stepping.
 * Numbers are parsed strictly (the whole value, no sign or blanks). Returns -1
 * with a message naming the key on an unknown key or a bad value. */
int machine_set(struct machine_spec *m, const char *key, const char *value,
                char *err, size_t errlen);

#endif

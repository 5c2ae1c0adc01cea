// SPDX-License-Identifier: GPL-2.0-only
/* machine: the host's hardware from cpuinfo, meminfo and sysfs files laid
 * out in a temp dir, and machine_set's overrides. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "machine.h"
#include "testutil.h"

static char root[64];
static char proc[128], sys[128];
static char logged[1024]; /* the last warning, captured */

static void capture(int level, const char *message) {
  (void)level;
  snprintf(logged, sizeof(logged), "%s", message);
}

static void setup(void) {
  snprintf(root, sizeof(root), "/tmp/kepler_machine_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
  snprintf(proc, sizeof(proc), "%s/proc", root);
  snprintf(sys, sizeof(sys), "%s/sys", root);
  logged[0] = '\0';
  kepler_log_set(capture);
}

static void teardown(void) {
  char cmd[128];
  kepler_log_set(NULL);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

/* Write root/<rel>, creating its directories. */
static void put(const char *rel, const char *text) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void read_ok(struct machine_spec *m) {
  char err[256] = "";
  ck_assert_msg(machine_read(proc, sys, m, err, sizeof(err)) == 0, "%s", err);
}

static const char intel_flags[] =
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 "
    "clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb "
    "rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology "
    "nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx "
    "est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic "
    "movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm "
    "3dnowprefetch cpuid_fault epb cat_l3 cdp_l3 invpcid_single pti intel_ppin "
    "ssbd mba ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid "
    "ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm "
    "mpx rdt_a avx512f avx512dq rdseed adx smap clflushopt clwb intel_pt "
    "avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc "
    "cqm_occup_llc cqm_mbm_total cqm_mbm_local dtherm ida arat pln pts pku "
    "ospke md_clear flush_l1d arch_capabilities";

/* A 2-socket Xeon as Linux lists it: 2 packages x 2 cores x 2 threads, the
 * second thread of every core after all the first ones. */
static void put_intel_2s(void) {
  static char text[32768];
  size_t n = 0;
  for (int cpu = 0; cpu < 8; cpu++) {
    int phys = (cpu / 2) % 2, core = cpu % 2, thread = cpu / 4;
    n += (size_t)snprintf(
        text + n, sizeof(text) - n,
        "processor\t: %d\n"
        "vendor_id\t: GenuineIntel\n"
        "cpu family\t: 6\n"
        "model\t\t: 85\n"
        "model name\t: Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz\n"
        "stepping\t: 4\n"
        "microcode\t: 0x2006e05\n"
        "cpu MHz\t\t: %s\n"
        "cache size\t: 25344 KB\n"
        "physical id\t: %d\n"
        "siblings\t: 4\n"
        "core id\t\t: %d\n"
        "cpu cores\t: 2\n"
        "apicid\t\t: %d\n"
        "initial apicid\t: %d\n"
        "fpu\t\t: yes\n"
        "fpu_exception\t: yes\n"
        "cpuid level\t: 22\n"
        "wp\t\t: yes\n"
        "flags\t\t: %s\n"
        "bugs\t\t: cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass\n"
        "bogomips\t: 4600.00\n"
        "clflush size\t: 64\n"
        "cache_alignment\t: 64\n"
        "address sizes\t: 46 bits physical, 48 bits virtual\n"
        "power management:\n\n",
        cpu, cpu == 0 ? "1000.112" : "3700.000", phys, core,
        phys * 64 + core * 2 + thread, phys * 64 + core * 2 + thread,
        intel_flags);
  }
  put("proc/cpuinfo", text);
}

START_TEST(test_intel_two_sockets) {
  put_intel_2s();
  put("proc/meminfo", "MemTotal:       263784152 kB\n"
                      "MemFree:        200000000 kB\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz");
  ck_assert_str_eq(m.vendor, "GenuineIntel");
  ck_assert_uint_eq(m.chips, 2);
  ck_assert_uint_eq(m.cores, 4);
  ck_assert_uint_eq(m.threads, 8);
  ck_assert_close(m.memory_gb, 263784152 / 1048576.0);
  ck_assert_close(m.mhz, 2300); /* the name's nominal, not cpu0's 1000 MHz */
  ck_assert(!m.hypervisor);
  ck_assert_str_eq(logged, "");
}
END_TEST

START_TEST(test_base_frequency_wins) {
  put_intel_2s();
  put("sys/devices/system/cpu/cpu0/cpufreq/base_frequency", "2100000\n");
  put("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "3700000\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_close(m.mhz, 2100);
}
END_TEST

/* An EPYC: no "@ GHz" in the name; cpu MHz comes before the turbo max. */
START_TEST(test_amd_one_socket) {
  static const char block[] =
      "processor\t: %d\n"
      "vendor_id\t: AuthenticAMD\n"
      "cpu family\t: 23\n"
      "model\t\t: 49\n"
      "model name\t: AMD EPYC 7502P 32-Core Processor\n"
      "stepping\t: 0\n"
      "cpu MHz\t\t: %s\n"
      "cache size\t: 512 KB\n"
      "physical id\t: 0\n"
      "siblings\t: 4\n"
      "core id\t\t: %d\n"
      "cpu cores\t: 2\n"
      "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr ht "
      "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good "
      "extd_apicid aperfmperf pni monitor ssse3 fma cx16 sse4_1 sse4_2 "
      "svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch "
      "osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext "
      "perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba sme sev\n"
      "bogomips\t: 5000.12\n\n";
  char text[4096];
  size_t n = 0;
  for (int cpu = 0; cpu < 4; cpu++)
    n += (size_t)snprintf(text + n, sizeof(text) - n, block, cpu,
                          cpu == 0 ? "2500.000" : "1496.314", cpu % 2);
  put("proc/cpuinfo", text);
  put("proc/meminfo", "MemTotal:       131811360 kB\n");
  put("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "3350000\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "AMD EPYC 7502P 32-Core Processor");
  ck_assert_str_eq(m.vendor, "AuthenticAMD");
  ck_assert_uint_eq(m.chips, 1);
  ck_assert_uint_eq(m.cores, 2);
  ck_assert_uint_eq(m.threads, 4);
  ck_assert_close(m.memory_gb, 131811360 / 1048576.0);
  ck_assert_close(m.mhz, 2500);
}
END_TEST

/* A VM whose cpuinfo states no topology at all: one socket, one thread per
 * core; the hypervisor flag marks it. */
START_TEST(test_vm_hypervisor_no_topology) {
  static const char block[] =
      "processor\t: %d\n"
      "vendor_id\t: GenuineIntel\n"
      "model name\t: Intel Xeon Processor (Skylake, IBRS)\n"
      "cpu MHz\t\t: 2199.998\n"
      "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge "
      "mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb "
      "rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq "
      "pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt "
      "tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm "
      "3dnowprefetch invpcid_single ssbd ibrs ibpb\n\n";
  char text[4096];
  size_t n = 0;
  for (int cpu = 0; cpu < 3; cpu++)
    n += (size_t)snprintf(text + n, sizeof(text) - n, block, cpu);
  put("proc/cpuinfo", text);
  put("proc/meminfo", "MemTotal:        8152844 kB\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert(m.hypervisor);
  ck_assert_uint_eq(m.chips, 1);
  ck_assert_uint_eq(m.cores, 3);
  ck_assert_uint_eq(m.threads, 3);
  ck_assert_close(m.mhz, 2199.998);
}
END_TEST

/* "hypervisor" must be a whole flag, not part of another. */
START_TEST(test_hypervisor_whole_word) {
  put("proc/cpuinfo", "processor\t: 0\n"
                      "flags\t\t: fpu nohypervisor hypervisor_x\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert(!m.hypervisor);
  put("proc/cpuinfo", "processor\t: 0\n"
                      "flags\t\t: hypervisor\n");
  read_ok(&m);
  ck_assert(m.hypervisor);
}
END_TEST

/* aarch64: no model name, no vendor_id, no cpu MHz. The core is named from
 * the implementer and part codes, the clock from cpufreq. */
START_TEST(test_arm_neoverse) {
  static const char block[] =
      "processor\t: %d\n"
      "BogoMIPS\t: 50.00\n"
      "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
      "asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\n"
      "CPU implementer\t: 0x41\n"
      "CPU architecture: 8\n"
      "CPU variant\t: 0x3\n"
      "CPU part\t: 0xd0c\n"
      "CPU revision\t: 1\n\n";
  char text[4096];
  size_t n = 0;
  for (int cpu = 0; cpu < 4; cpu++)
    n += (size_t)snprintf(text + n, sizeof(text) - n, block, cpu);
  put("proc/cpuinfo", text);
  put("proc/meminfo", "MemTotal:       16197732 kB\n");
  put("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "3000000\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "ARM Neoverse-N1");
  ck_assert_str_eq(m.vendor, "ARM");
  ck_assert_uint_eq(m.chips, 1);
  ck_assert_uint_eq(m.cores, 4);
  ck_assert_uint_eq(m.threads, 4);
  ck_assert_close(m.mhz, 3000);
  ck_assert(!m.hypervisor);
}
END_TEST

/* A part not in the table: the board name when the kernel gives one, else
 * the raw codes. */
START_TEST(test_arm_unknown_part) {
  put("proc/cpuinfo", "processor\t: 0\n"
                      "CPU implementer\t: 0x41\n"
                      "CPU part\t: 0xd05\n\n"
                      "Hardware\t: BCM2711\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "BCM2711");
  put("proc/cpuinfo", "processor\t: 0\n"
                      "CPU implementer\t: 0x99\n"
                      "CPU part\t: 0x123\n");
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "unknown part 0x123");
  ck_assert_str_eq(m.vendor, "");
  ck_assert_close(m.mhz, 0);
}
END_TEST

/* No "processor" lines (s390-style): threads from the online CPU list. */
START_TEST(test_threads_from_online_list) {
  put("proc/cpuinfo", "vendor_id       : IBM/S390\n"
                      "# processors    : 7\n");
  put("sys/devices/system/cpu/online", "0-3,8,10-11\n");
  struct machine_spec m;
  read_ok(&m);
  ck_assert_uint_eq(m.threads, 7);
  ck_assert_uint_eq(m.cores, 7);
  ck_assert_uint_eq(m.chips, 1);
  ck_assert_str_eq(m.vendor, "IBM/S390");
}
END_TEST

START_TEST(test_missing_files) {
  struct machine_spec m = {.threads = 99};
  char err[256] = "";
  ck_assert_int_eq(machine_read(proc, sys, &m, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "/proc/cpuinfo: cannot open"));
  ck_assert_uint_eq(m.threads, 99); /* untouched on failure */
  /* cpuinfo alone: everything else stays 0 */
  put("proc/cpuinfo", "processor\t: 0\nmodel name\t: X\n");
  read_ok(&m);
  ck_assert_str_eq(m.cpu, "X");
  ck_assert_uint_eq(m.threads, 1);
  ck_assert_close(m.memory_gb, 0);
  ck_assert_close(m.mhz, 0);
}
END_TEST

/* Malformed numbers are warned about with file and line, and ignored. */
START_TEST(test_garbage_numbers) {
  put("proc/cpuinfo", "processor\t: 0\n"
                      "physical id\t: zero\n"
                      "core id\t\t: 0\n"
                      "cpu cores\t: many\n"
                      "cpu MHz\t\t: 2.5GHz\n"
                      "\n"
                      "processor\t: 1\n"
                      "physical id\t: -1\n"
                      "core id\t\t: 1\n");
  put("proc/meminfo", "MemTotal:       lots kB\n");
  put("sys/devices/system/cpu/cpu0/cpufreq/base_frequency", "fast\n");
  struct machine_spec m;
  read_ok(&m);
  char want[256];
  snprintf(want, sizeof(want), "%s/cpuinfo:8: \"physical id\"", proc);
  ck_assert_msg(strstr(logged, want), "logged: %s", logged);
  ck_assert_uint_eq(m.chips, 1);
  ck_assert_uint_eq(m.cores, 2); /* the distinct core ids */
  ck_assert_uint_eq(m.threads, 2);
  ck_assert_close(m.memory_gb, 0);
  ck_assert_close(m.mhz, 0);
}
END_TEST

START_TEST(test_set_every_key) {
  struct machine_spec m = {0};
  char err[256];
  static const char *const kv[][2] = {
      {"cpu", "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz, rev 1"},
      {"vendor", "GenuineIntel"},
      {"chips", "2"},
      {"cores", "36"},
      {"threads", "72"},
      {"memory_gb", "503.5"},
      {"mhz", "2300"},
      {"hypervisor", "true"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(kv); i++)
    ck_assert_msg(machine_set(&m, kv[i][0], kv[i][1], err, sizeof(err)) == 0,
                  "%s", err);
  ck_assert_str_eq(m.cpu, kv[0][1]);
  ck_assert_str_eq(m.vendor, "GenuineIntel");
  ck_assert_uint_eq(m.chips, 2);
  ck_assert_uint_eq(m.cores, 36);
  ck_assert_uint_eq(m.threads, 72);
  ck_assert_close(m.memory_gb, 503.5);
  ck_assert_close(m.mhz, 2300);
  ck_assert(m.hypervisor);
  ck_assert_int_eq(machine_set(&m, "hypervisor", "0", err, sizeof(err)), 0);
  ck_assert(!m.hypervisor);
  ck_assert_int_eq(machine_set(&m, "hypervisor", "1", err, sizeof(err)), 0);
  ck_assert(m.hypervisor);
  ck_assert_int_eq(machine_set(&m, "hypervisor", "false", err, sizeof(err)), 0);
  ck_assert(!m.hypervisor);
}
END_TEST

START_TEST(test_set_errors) {
  static const char *const bad[][2] = {
      {"threads", "-1"},        {"threads", " 4"},
      {"threads", "4x"},        {"threads", ""},
      {"cores", "99999999999"}, {"chips", "2.0"},
      {"memory_gb", "nan"},     {"memory_gb", "inf"},
      {"mhz", "1e999"},         {"mhz", "-3"},
      {"mhz", "2.3GHz"},        {"hypervisor", "yes"},
      {"thread", "4"},          {"", "1"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    struct machine_spec m = {.threads = 8, .cores = 4, .mhz = 1000};
    char err[256] = "";
    ck_assert_int_eq(machine_set(&m, bad[i][0], bad[i][1], err, sizeof(err)),
                     -1);
    char key[64];
    snprintf(key, sizeof(key), "\"%s\"", bad[i][0]);
    ck_assert_msg(strstr(err, key), "error does not name the key: %s", err);
    ck_assert_uint_eq(m.threads, 8);
    ck_assert_uint_eq(m.cores, 4);
    ck_assert_close(m.mhz, 1000);
  }
  struct machine_spec m = {0};
  char err[256];
  ck_assert_int_eq(machine_set(&m, "thread", "4", err, sizeof(err)), -1);
  for (size_t i = 0; machine_keys[i]; i++) /* the message lists them all */
    ck_assert_msg(strstr(err, machine_keys[i]), "%s", err);
  ck_assert_int_eq(machine_set(&m, "mhz", "2.3GHz", err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "\"2.3GHz\""));
  char longname[300];
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  ck_assert_int_eq(machine_set(&m, "cpu", longname, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "\"cpu\""));
  ck_assert_str_eq(m.cpu, "");
}
END_TEST

static Suite *machine_suite(void) {
  Suite *s = suite_create("machine");
  TCase *tc = tcase_create("read");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_intel_two_sockets);
  tcase_add_test(tc, test_base_frequency_wins);
  tcase_add_test(tc, test_amd_one_socket);
  tcase_add_test(tc, test_vm_hypervisor_no_topology);
  tcase_add_test(tc, test_hypervisor_whole_word);
  tcase_add_test(tc, test_arm_neoverse);
  tcase_add_test(tc, test_arm_unknown_part);
  tcase_add_test(tc, test_threads_from_online_list);
  tcase_add_test(tc, test_missing_files);
  tcase_add_test(tc, test_garbage_numbers);
  suite_add_tcase(s, tc);
  TCase *set = tcase_create("set");
  tcase_add_test(set, test_set_every_key);
  tcase_add_test(set, test_set_errors);
  suite_add_tcase(s, set);
  return s;
}

int main(void) {
  return run_suite(machine_suite());
}

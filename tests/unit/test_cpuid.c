// SPDX-License-Identifier: GPL-2.0-only
/* The architecture of CPUs whose name says nothing ("AMD EPYC", "Intel Xeon
 * Processor (Icelake)"): real cpuinfo shapes of clouds and hypervisors
 * (tests/unit/cpuinfo/, this build host's among them) read by machine_read
 * and bound to the shipped default model, whose cpuid_rules decide; the
 * cpuid_rules and tdp blocks of the model format; CPU name -> vendor. */
#define _GNU_SOURCE /* nftw, in fake_sysfs.h */
#include "machine.h"
#include "model.h"
#include "model_load.h"
#include "model_yaml.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_sysfs.h"
#include "model_text.h"
#include "testutil.h"

#ifndef KEPLER_SRCDIR
#define KEPLER_SRCDIR "."
#endif

static char proc[512], sys[512];

static void setup(void) {
  fake_setup();
  snprintf(proc, sizeof(proc), "%s", fake_path("proc"));
  snprintf(sys, sizeof(sys), "%s", fake_path("sys"));
  fake_mkdirs("proc");
}

/* tests/unit/cpuinfo/<name>.cpuinfo as proc/cpuinfo of the fake root. */
static void put_cpuinfo(const char *name) {
  char src[512], buf[4096];
  snprintf(src, sizeof(src), "%s/tests/unit/cpuinfo/%s.cpuinfo", KEPLER_SRCDIR,
           name);
  const char *dst = fake_path("proc/cpuinfo");
  FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
  ck_assert_msg(in != NULL, "%s", src);
  ck_assert_ptr_nonnull(out);
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
    ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  fclose(out);
}

static struct power_model *default_model(void) {
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_file(KEPLER_SRCDIR "/models/default.yaml", &m, err,
                                sizeof err) == 0,
                "%s", err);
  return m;
}

/* The shapes, from each generation's documented family/model numbers, and
 * what the default model makes of them. "" = honestly not recognised. */
static const struct shape {
  const char *file, *vendor;
  unsigned family, model, stepping;
  const char *arch;
} shapes[] = {
    {"amd_epyc_zen1_kvm", "AuthenticAMD", 23, 1, 2, "epyc-gen1"},
    {"amd_epyc_zen2_cloud", "AuthenticAMD", 23, 49, 0, "epyc-gen2"},
    {"amd_epyc_zen3_kvm", "AuthenticAMD", 25, 1, 1, "epyc-gen3"},
    /* Zen 4 is newer than the data: the newest EPYC in it. */
    {"amd_epyc_zen4_cloud", "AuthenticAMD", 25, 17, 1, "epyc-gen3"},
    {"intel_icelake_kvm", "GenuineIntel", 6, 106, 6, "icelake"},
    {"intel_skylake_sp_kvm", "GenuineIntel", 6, 85, 4, "skylake"},
    {"intel_cascadelake_kvm", "GenuineIntel", 6, 85, 7, "cascadelake"},
    /* Sapphire and Emerald Rapids: the newest Xeon in the data. */
    {"intel_sapphirerapids_kvm", "GenuineIntel", 6, 143, 8, "icelake"},
    {"intel_broadwell_kvm", "GenuineIntel", 6, 79, 1, "broadwell"},
    {"intel_haswell_kvm", "GenuineIntel", 6, 63, 2, "haswell"},
    {"this_host_emerald_rapids_vm", "GenuineIntel", 6, 207, 2, "icelake"},
    /* QEMU's generic models hide the host's CPU: family 15 model 6 is also
     * a real NetBurst Xeon, but only on bare metal. */
    {"qemu_kvm64_intel_host", "GenuineIntel", 15, 6, 1, ""},
    {"qemu_qemu64", "AuthenticAMD", 15, 107, 1, ""},
};

START_TEST(test_shape) {
  const struct shape *s = &shapes[_i];
  put_cpuinfo(s->file);
  struct machine_spec spec;
  char err[512] = "";
  ck_assert_msg(machine_read(proc, sys, &spec, err, sizeof err) == 0, "%s",
                err);
  ck_assert_str_eq(spec.vendor, s->vendor);
  ck_assert_uint_eq(spec.cpu_family, s->family);
  ck_assert_uint_eq(spec.cpu_model, s->model);
  ck_assert_uint_eq(spec.cpu_stepping, s->stepping);
  ck_assert(spec.hypervisor);
  struct power_model *m = default_model();
  ck_assert_msg(model_bind_machine(m, &spec, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(strcmp(model_cpu_architecture(m), s->arch) == 0,
                "%s (%s): architecture \"%s\", want \"%s\"", s->file, spec.cpu,
                model_cpu_architecture(m), s->arch);
  ck_assert(model_cpu_architecture_from_cpuid(m) == (s->arch[0] != '\0'));
  /* The TDP falls back to the architecture's W per core. */
  ck_assert(model_tdp_w(m) > 0);
  model_free(m);
}
END_TEST

/* A name rule that matches wins over CPUID; the same CPUID on bare metal
 * (no hypervisor flag) with family 15 is NetBurst. */
START_TEST(test_name_first_and_bare_metal) {
  struct power_model *m = default_model();
  char err[512] = "";
  struct machine_spec spec = {.cpu = "Intel(R) Xeon(R) CPU E5-2680 v4",
                              .vendor = "GenuineIntel",
                              .cpu_family = 6,
                              .cpu_model = 85, /* says cascadelake */
                              .cpu_stepping = 7,
                              .chips = 2,
                              .cores = 28,
                              .threads = 56,
                              .memory_gb = 128,
                              .mhz = 2400};
  ck_assert_msg(model_bind_machine(m, &spec, err, sizeof err) == 0, "%s", err);
  ck_assert_str_eq(model_cpu_architecture(m), "broadwell");
  ck_assert(!model_cpu_architecture_from_cpuid(m));
  struct machine_spec p4 = {.cpu = "Intel(R) Xeon(TM) CPU",
                            .vendor = "GenuineIntel",
                            .cpu_family = 15,
                            .cpu_model = 6,
                            .cpu_stepping = 4,
                            .chips = 2,
                            .cores = 4,
                            .threads = 8,
                            .memory_gb = 8,
                            .mhz = 3000};
  ck_assert_msg(model_bind_machine(m, &p4, err, sizeof err) == 0, "%s", err);
  ck_assert_str_eq(model_cpu_architecture(m), "netburst");
  /* No CPUID (family 0): no rule is consulted. */
  p4.cpu_family = 0;
  ck_assert_msg(model_bind_machine(m, &p4, err, sizeof err) == 0, "%s", err);
  ck_assert_str_eq(model_cpu_architecture(m), "");
  model_free(m);
}
END_TEST

static const char rules_model[] =
    "name: t\n"
    "output_type: AbsPower\n"
    "cpu_architectures:\n"
    "  - { match: \"Gold 6[0-9]{3}\", name: byname }\n"
    "cpuid_rules:\n"
    "  - { vendor: GenuineIntel, family: 6, models: [85], steppings: [0-4], "
    "name: a }\n"
    "  - { vendor: GenuineIntel, family: 6, models: [80-90, 106], name: b }\n"
    "  - { vendor: GenuineIntel, family: 15, hypervisor: false, name: c }\n"
    "tdp:\n"
    "  by_cpu:\n"
    "    \"E5-2660V2\": 95\n"
    "    \"GOLD 6140\": 140\n"
    "  estimate:\n"
    "    intercept: 0\n"
    "    ln_cores_per_chip: 1\n"
    "    ln_mhz: 0\n"
    "    architecture:\n"
    "      b: 0.5\n"
    "components:\n"
    "  platform:\n"
    "    type: load_curve\n"
    "    utilization: { feature: bpf_cpu_time_ms, scale: 1000 }\n"
    "    levels: [0, 1]\n"
    "    intercept: [1, 2]\n"
    "    terms:\n"
    "      ln_tdp_w: [1, 1]\n"
    "    architecture:\n"
    "      a: [0, 0]\n";

static struct power_model *load_text(const char *text) {
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(
      model_load_buffer(text, strlen(text), "t", &m, err, sizeof err) == 0,
      "%s", err);
  return m;
}

static const char *arch_of(struct power_model *m, const char *cpu,
                           unsigned family, unsigned model, unsigned stepping,
                           bool vm) {
  struct machine_spec spec = {.vendor = "GenuineIntel",
                              .cpu_family = family,
                              .cpu_model = model,
                              .cpu_stepping = stepping,
                              .chips = 2,
                              .cores = 8,
                              .threads = 16,
                              .memory_gb = 64,
                              .mhz = 2000,
                              .hypervisor = vm};
  snprintf(spec.cpu, sizeof(spec.cpu), "%s", cpu);
  char err[512] = "";
  ck_assert_msg(model_bind_machine(m, &spec, err, sizeof err) == 0, "%s", err);
  return model_cpu_architecture(m);
}

START_TEST(test_rules_and_tdp) {
  struct power_model *m = load_text(rules_model);
  ck_assert_str_eq(arch_of(m, "x", 6, 85, 4, true), "a");
  ck_assert_str_eq(arch_of(m, "x", 6, 85, 7, true), "b");
  ck_assert_str_eq(arch_of(m, "x", 6, 80, 0, true), "b");
  ck_assert_str_eq(arch_of(m, "x", 6, 106, 0, true), "b");
  ck_assert_str_eq(arch_of(m, "x", 6, 107, 0, true), "");
  ck_assert_str_eq(arch_of(m, "x", 15, 6, 1, true), "");
  ck_assert_str_eq(arch_of(m, "x", 15, 6, 1, false), "c");
  ck_assert_str_eq(arch_of(m, "Intel Xeon Gold 6140", 6, 85, 4, false),
                   "byname");
  /* TDP by name key, W per chip x 2 chips. */
  arch_of(m, "Intel(R) Xeon(R) CPU E5-2660 v2 @ 2.20GHz", 6, 62, 4, false);
  ck_assert_close(model_tdp_w(m), 190);
  arch_of(m, "Intel Xeon E5-2660V2", 0, 0, 0, false);
  ck_assert_close(model_tdp_w(m), 190);
  arch_of(m, "Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz", 0, 0, 0, false);
  ck_assert_close(model_tdp_w(m), 280);
  /* Else estimated: ln W per chip = ln(8 cores / 2 chips) + the
   * architecture's row; x 2 chips. */
  arch_of(m, "Intel Xeon Processor", 6, 106, 0, false);
  ck_assert_close(model_tdp_w(m), 2 * 4 * exp(0.5));
  arch_of(m, "Intel Xeon Processor", 6, 85, 4, false);
  ck_assert_close(model_tdp_w(m), 2 * 4);
  /* Written and read back: the same rules. */
  char *text;
  struct power_model *back = reload_written(m, &text);
  ck_assert_str_eq(arch_of(back, "x", 6, 85, 7, true), "b");
  ck_assert_str_eq(arch_of(back, "x", 15, 6, 1, false), "c");
  arch_of(back, "Intel Xeon E5-2660V2", 0, 0, 0, false);
  ck_assert_close(model_tdp_w(back), 190);
  ck_assert_ptr_nonnull(strstr(text, "models: [80-90, 106]"));
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* Bad cpuid_rules and tdp entries: the message names the line. */
static const struct {
  const char *from, *to, *message;
} bad[] = {
    {"models: [85], steppings", "models: [85-80], steppings",
     "t:6: \"models\" must hold whole numbers N or ranges LO-HI"},
    {"family: 6, models: [85]", "family: x, models: [85]",
     "t:6: \"family\" must be a whole number above 0"},
    {"{ vendor: GenuineIntel, family: 15", "{ family: 15",
     "t:8: missing required key \"vendor\" in \"cpuid_rules\""},
    {"hypervisor: false", "hypervisor: no",
     "t:8: \"hypervisor\" must be true or false"},
    {"    ln_mhz: 0\n", "    ln_mhz: fast\n",
     "t:16: \"ln_mhz\" must be a number"},
    {"    ln_mhz: 0\n", "",
     "t:14: missing required key \"ln_mhz\" in \"estimate\""},
    {"\"GOLD 6140\": 140", "\"GOLD 6140\": 0",
     "t:12: \"GOLD 6140\" must be greater than 0"},
    {"    \"GOLD 6140\": 140\n", "    \"E5-2660V2\": 140\n",
     "t:12: duplicate CPU \"E5-2660V2\" in \"by_cpu\""},
    {"  estimate:", "  per_core:", "t:13: unknown key \"per_core\" in \"tdp\""},
};

START_TEST(test_bad_rules) {
  char text[4096], err[512] = "";
  const char *at = strstr(rules_model, bad[_i].from);
  ck_assert_ptr_nonnull(at);
  snprintf(text, sizeof text, "%.*s%s%s", (int)(at - rules_model), rules_model,
           bad[_i].to, at + strlen(bad[_i].from));
  struct power_model *m = NULL;
  ck_assert_int_eq(
      model_load_buffer(text, strlen(text), "t", &m, err, sizeof err), -1);
  ck_assert_msg(strstr(err, bad[_i].message) != NULL, "%s", err);
}
END_TEST

/* --machine cpu=...: the vendor the name names. */
START_TEST(test_vendor_from_name) {
  ck_assert_str_eq(machine_vendor_from_name("Intel(R) Xeon(R) Gold 6140"),
                   "GenuineIntel");
  ck_assert_str_eq(machine_vendor_from_name("AMD EPYC 7742 64-Core Processor"),
                   "AuthenticAMD");
  ck_assert_str_eq(machine_vendor_from_name("Ampere Altra Q80-30"), "Ampere");
  ck_assert_str_eq(machine_vendor_from_name("Hygon C86 7285"), "HygonGenuine");
  /* The first maker named. */
  ck_assert_str_eq(machine_vendor_from_name("AMD EPYC (Intel compatible)"),
                   "AuthenticAMD");
  ck_assert_ptr_null(machine_vendor_from_name("Common KVM processor"));
  ck_assert_ptr_null(machine_vendor_from_name("HAMDEN 3000")); /* inside */
  ck_assert_ptr_null(machine_vendor_from_name(""));
}
END_TEST

static Suite *cpuid_suite(void) {
  Suite *s = suite_create("cpuid");
  TCase *tc = tcase_create("shapes");
  tcase_add_checked_fixture(tc, setup, fake_teardown);
  tcase_add_loop_test(tc, test_shape, 0, ARRAY_SIZE(shapes));
  suite_add_tcase(s, tc);
  tc = tcase_create("rules");
  tcase_add_test(tc, test_name_first_and_bare_metal);
  tcase_add_test(tc, test_rules_and_tdp);
  tcase_add_loop_test(tc, test_bad_rules, 0, ARRAY_SIZE(bad));
  tcase_add_test(tc, test_vendor_from_name);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(cpuid_suite());
}

/* Node power from a model, and its attribution to processes. No collectd
 * headers. Conservation is the contract: the parts sum to the node. */
#ifndef KEPLER_ATTRIBUTION_H
#define KEPLER_ATTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "proc_table.h"

struct node_power {
  bool present[COMPONENT_MAX];
  double absolute[COMPONENT_MAX];
  double idle[COMPONENT_MAX];
  double dynamic[COMPONENT_MAX]; /* absolute - idle, never negative */
  /* The node as a whole: platform where the model has it, else package (or
   * core + uncore) + dram, so nested domains are not counted twice. */
  double total, total_idle, total_dynamic;
};

/* Evaluate the model on the node's per-second features; idle is the model at
 * zero usage. */
void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out);

/* Share the node's dynamic power (and, with split_idle, its idle power)
 * among the processes in proportion to their CPU time in the interval. Sets
 * power_dynamic_w and power_idle_w of every process; when no process ran,
 * every share is 0. */
void attribute_to_processes(const struct node_power *node, bool split_idle,
                            struct proc_entry *const *procs, size_t n);

/* Order procs by power (dynamic + idle), highest first (ties by pid), and
 * sum the processes beyond the first `top` into *other_dynamic_w and
 * *other_idle_w. Returns how many stay reported: min(n, top). */
size_t attribution_keep_top(struct proc_entry **procs, size_t n, size_t top,
                            double *other_dynamic_w, double *other_idle_w);

#endif

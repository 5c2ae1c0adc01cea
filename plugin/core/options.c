// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include <limits.h>
#include <math.h>
#include <strings.h>

#include "errmsg.h"

int option_report_policy(const char *mode, bool has_value, double value,
                         struct report_policy *out, char *err, size_t errlen) {
  bool top = strcasecmp(mode, "top") == 0;
  bool above = strcasecmp(mode, "above") == 0;
  if (!top && !above && strcasecmp(mode, "all") != 0 &&
      strcasecmp(mode, "none") != 0)
    return errmsg(err, errlen,
                  "\"%s\" is not \"all\", \"none\", \"top\" or \"above\"",
                  mode);
  if (has_value != (top || above))
    return errmsg(
        err, errlen,
        has_value ? "\"%s\" takes no number" : "\"%s\" takes a number", mode);
  if (top) {
    /* Compared as doubles before any conversion: a double beyond UINT_MAX
     * converted to unsigned is undefined. */
    if (!(value >= 1 && value <= UINT_MAX && value == floor(value)))
      return errmsg(err, errlen,
                    "top takes a whole number from 1 to %u, not %g", UINT_MAX,
                    value);
    *out = (struct report_policy){REPORT_TOP, (unsigned)value, 0};
  } else if (above) {
    if (!(value >= 0 && isfinite(value)))
      return errmsg(err, errlen, "above takes watts of 0 or more, not %g",
                    value);
    *out = (struct report_policy){REPORT_ABOVE, 0, value};
  } else {
    *out = (struct report_policy){
        strcasecmp(mode, "all") == 0 ? REPORT_ALL : REPORT_NONE, 0, 0};
  }
  return 0;
}

# SPDX-License-Identifier: GPL-2.0-only
"""Draw dashboard panels from real query results with matplotlib, as
Grafana would show them: lines, or stacked areas under the node's dashed
line. The pictures in docs/pictures come from here (docs/testing.md).

draw(path, title, results, panels, t0): results is {panel title: {refId:
{series name: {timestamp s: value}}}}; target N of a panel is the node line
over a stack of the other targets' series."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _panel(ax, title, targets, t0):
    ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)
    node = targets.get("N")
    series = [(name, points) for ref, named in sorted(targets.items()) if ref != "N"
              for name, points in sorted(named.items())]
    if node:
        (_, line), = node.items()
        ts = sorted(line)
        # Largest at the bottom, as Grafana's legend sorted by mean.
        series.sort(key=lambda s: -sum(s[1].values()) / max(len(s[1]), 1))
        ys = [[points.get(t, 0.0) for t in ts] for _, points in series]
        x = [t - t0 for t in ts]
        ax.stackplot(x, ys, labels=[short(n) for n, _ in series], alpha=0.8)
        ax.plot(x, [line[t] for t in ts], "k--", linewidth=1.5, label="node total")
    else:
        for name, points in series:
            ts = sorted(points)
            ax.plot([t - t0 for t in ts], [points[t] for t in ts], label=short(name))
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("W")
    ax.set_xlabel("seconds")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def short(name, width=22):
    return name if len(name) <= width else name[:width - 3] + "..."


def draw(path, title, results, panels, t0):
    fig, axes = plt.subplots(2, 2, figsize=(12, 6.4), dpi=80)
    for ax, panel in zip(axes.flat, panels):
        _panel(ax, panel, results[panel], t0)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

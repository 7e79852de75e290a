"""bench/results/phases.png: time vs entries per phase (log-log), and peak RSS vs entries."""

from __future__ import annotations

from pathlib import Path


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.report import phase_names

    finished = [r for r in results if "phases" in r["summary"]]
    fig, (ax, mem) = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [2, 1]})
    xs = [r["entries"] for r in finished]
    for phase in phase_names(results):
        if max(r["summary"]["phases"].get(phase, 0) for r in finished) < 0.05:
            continue                         # e.g. publish (a rename): noise at the bottom
        ys = [max(r["summary"]["phases"].get(phase, 0), 1e-3) for r in finished]
        ax.plot(xs, ys, marker="o", label=phase)
    ax.plot(xs, [r["summary"]["nightly_seconds"] for r in finished], marker="s", color="black",
            linewidth=2.5, label="nightly total")
    floor_rs = [r for r in results]
    ax.plot([r["entries"] for r in floor_rs], [r["summary"]["floor_seconds"] for r in floor_rs],
            marker="^", color="grey", linestyle="--", linewidth=2, label="input floor (DuckDB scan)")
    both = [r for r in finished if "floor_in_out_seconds" in r["summary"]]
    if both:
        ax.plot([r["entries"] for r in both], [10 * r["summary"]["floor_in_out_seconds"] for r in both],
                color="red", linestyle=":", marker="_", markersize=14,
                label="10× (input + output floor), the goal")
    recon = [r for r in finished if r["summary"].get("reconciliation_seconds") is not None]
    if recon:
        ax.plot([r["entries"] for r in recon], [r["summary"]["reconciliation_seconds"] for r in recon],
                marker="s", color="tab:cyan", linestyle="--", label="reconciliation (night − documents' files)")
    inc = [r for r in finished if "nightly_seconds" in r.get("incremental", {}).get("summary", {})]
    if inc:
        ax.plot([r["entries"] for r in inc], [r["incremental"]["summary"]["nightly_seconds"] for r in inc],
                marker="D", color="tab:olive", linestyle="-.", label="incremental night")
    timed_out = [r for r in results if r["summary"].get("timed_out_after_seconds")]
    for r in timed_out:
        ax.scatter([r["entries"]], [r["summary"]["timed_out_after_seconds"]], marker="x", s=80,
                   color="red", zorder=5, label=f"{r['size']}: timed out (lower bound)")
    if xs:
        lo = xs[0]
        ref = finished[0]["summary"]["nightly_seconds"]
        top = max(xs + [r["entries"] for r in timed_out])
        ax.plot([lo, top], [ref, ref * top / lo], color="black", alpha=0.25, linewidth=6,
                label="linear from smallest size")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time entries")
    ax.set_ylabel("seconds")
    ax.set_title("Nightly run: time per phase vs entries")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))

    from bench.report import peak_of
    mem.plot(xs, [peak_of(r["summary"]) / 1024 for r in finished], marker="o", label="nightly (process tree)")
    mem.plot([r["entries"] for r in results], [r["summary"]["floor_peak_rss_mib"] / 1024 for r in results],
             marker="^", linestyle="--", color="grey", label="floor")
    mem.axhline(4, color="red", linestyle=":", label="4 GiB (goal at 10M)")
    mem.axhline(1.5, color="orange", linestyle=":", label="1.5 GiB (goal at 1M)")
    mem.set_xscale("log")
    mem.set_xlabel("time entries")
    mem.set_ylabel("peak RSS, GiB")
    mem.set_title("Peak memory")
    mem.grid(True, which="both", alpha=0.3)
    mem.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""What `mixup-bench bench` prints: the table of both pipelines and the summary lines under it."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table


def data_words(info: dict) -> str:
    """The data a benchmark ran on, in words."""
    if info["source"] == "synthetic":
        return f"synthetic random uint8 images ({info['train_images']:,}; no --data-dir given)"
    # escaped: printed through Rich markup, and a path may hold brackets
    return f"CIFAR-10 {info['source']} at {escape(str(info['root']))} ({info['train_images']:,} training images)"


def result_table(r: dict) -> Table:
    """One row per pipeline: images/s per round, median, ms/step, GFLOP/s and the share of the roof."""
    c, p, n, a = r["config"], r["project"], r["naive"], r["achieved"]
    t = Table(title=f"{c['model']}, batch {c['batch_size']}, {r['device']['type']} ({r['device']['threads']} threads)")
    t.add_column("pipeline", no_wrap=True)
    for i in range(len(r["rounds"])):
        t.add_column(f"r{i + 1}", justify="right")
    t.add_column("median img/s", justify="right", style="bold")
    t.add_column("ms/step", justify="right")
    t.add_column("GFLOP/s", justify="right")
    t.add_column("of roof", justify="right")
    project_roof = a["project_roof"].split("_")[0]
    t.caption = (
        f"project: {p['precision']} {'autocast, ' if p['precision'] == 'bf16' else ''}channels_last"
        f"{', compiled' if p['compile'] else ''} (roof: {project_roof} matmul); "
        f"naive: fp32, NCHW, DataLoader with {n['workers']} worker(s) (roof: fp32 matmul)"
    )
    for name in ("project", "naive"):
        med, gflops, share = r["median"][f"{name}_images_per_s"], a[f"{name}_gflops"], a[f"{name}_roof_fraction"]
        cells = [f"{x[f'{name}_images_per_s']:,.0f}" for x in r["rounds"]]
        t.add_row(name, *cells, f"{med:,.0f}", f"{1000 * c['batch_size'] / med:.0f}", f"{gflops:.0f}", f"{share:.0%}")
    return t


def summary_lines(r: dict) -> str:
    """The ratio, the model's FLOPs and the device's roof, the epoch time and the data, one line each."""
    f, roof, e = r["flops"], r["roof"], r["epoch"]
    bf16 = f"bf16 {roof['bf16_gflops']:.0f}" if roof["bf16_gflops"] else "bf16 not native"
    dev = r.get("device", {})
    machine = f"{dev.get('name', '?')}, {dev['isa']}" if dev.get("isa") else dev.get("name", "?")
    lines = [
        f"machine class: {machine} (timings compare only within one class)",
        f"[bold]ratio project/naive: {r['ratio']:.2f}x[/bold] (median of {len(r['rounds'])} rounds)",
        f"model: {f['forward_per_image'] / 1e6:.1f} MFLOP forward, {f['train_per_image'] / 1e6:.1f} MFLOP "
        f"forward+backward per image; roof ({roof['matmul_n']}x{roof['matmul_n']} matmul): {bf16}, "
        f"fp32 {roof['fp32_gflops']:.0f} GFLOP/s",
        f"epoch estimate: {e['estimate_s']:.1f} s = {e['train_images']:,} training images "
        f"({e['estimate_train_s']:.1f} s) + {e['eval_images']:,} evaluation images at "
        f"{e['eval_images_per_s']:,.0f} img/s ({e['estimate_eval_s']:.1f} s)",
    ]
    if e.get("measured_s") is not None:
        lines.append(
            f"epoch measured (train_run, 1 epoch incl. evaluation): {e['measured_s']:.1f} s, "
            f"training at {e['measured_train_images_per_s']:,.0f} img/s"
        )
    lines.append(f"data: {data_words(r['data'])}")
    return "\n".join(lines)

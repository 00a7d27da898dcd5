"""`python -m mixup_bench ...`: the same as the `mixup-bench` command."""

from mixup_bench.cli import app

app(prog_name="mixup-bench")

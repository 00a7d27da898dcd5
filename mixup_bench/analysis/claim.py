"""The MixUp claim and the verdict on it: which direction each paired difference should take, and a
paragraph that says, for each part of the claim, whether the data support it, contradict it, or
cannot decide.

The judgement is deliberately plain (does the 95% t interval exclude 0, and on which side) so that
the wording never claims more than the intervals of `stats.paired_differences` show.
"""

from __future__ import annotations

import math

from mixup_bench.analysis.facts import Analysis
from mixup_bench.analysis.stats import PAIRED_METRICS, Interval, Paired
from mixup_bench.naming import FRACTION_METRICS, METRIC_NAMES, arm_label, format_alpha, format_diff

# The sign of (MixUp - baseline) that the MixUp claim predicts for each paired metric.
CLAIM_DIRECTION = {
    "clean_train_loss": +1,  # training loss is higher
    "test_acc": +1,  # generalises better: higher test accuracy
    "test_loss": -1,  # ... lower test loss
    "gap": -1,  # ... smaller gap between test and train loss
    "test_ece": -1,  # ... better calibration
}

CLAIM_WORDS = {
    "clean_train_loss": "higher",
    "test_acc": "higher",
    "test_loss": "lower",
    "gap": "smaller",
    "test_ece": "lower",
}

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NO_INTERVAL = "no interval"


def judge(interval: Interval, direction: int) -> str:
    """'supported' if the interval excludes 0 on the side `direction` (+1 above, -1 below) predicts,
    'contradicted' if it excludes 0 on the other side, 'inconclusive' if it holds 0, and
    'no interval' when there is none (fewer than two pairs)."""
    if interval.n < 2 or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return NO_INTERVAL
    if interval.low > 0:
        return SUPPORTED if direction > 0 else CONTRADICTED
    if interval.high < 0:
        return SUPPORTED if direction < 0 else CONTRADICTED
    return INCONCLUSIVE


# --- verdict --------------------------------------------------------------------------


def _format_ci(metric: str, iv: Interval) -> str:
    lo, hi = format_diff(metric, iv.low), format_diff(metric, iv.high)
    if metric in FRACTION_METRICS:
        lo, hi = lo.removesuffix(" pp"), hi
    return f"95% CI {lo} to {hi}"


def verdict(analysis: Analysis) -> str:
    """One paragraph that states what the data say about the MixUp claim.

    For each arm but the baseline (MixUp, CutMix, label smoothing, Manifold MixUp) with paired
    seeds it gives arm - baseline at the final (common) epoch for clean train loss, test accuracy,
    test loss, the gap and ECE, each with its 95% t interval and a judgement of the claimed
    direction: supported (the interval excludes 0 in the claimed direction), contradicted (it
    excludes 0 the other way) or inconclusive. With a single pair it says that no interval can be
    given. Without a baseline arm, or any other arm, it says that no paired comparison is possible.
    When the experiment holds arms other than MixUp, it opens with each part of the claim and the
    arms that support it, contradict it or leave it inconclusive (`part_sentences`).
    """
    missing = _missing_arm(analysis)
    if missing:
        return missing
    sentences: list[str] = [] if analysis.mixup_only else part_sentences(analysis.paired)
    for arm in analysis.other_arms:
        name = f"alpha={format_alpha(arm[1])}" if analysis.mixup_only else arm_label(*arm)
        sentences += _arm_sentences(analysis.paired, arm, name)
    sentences += _closing_sentences(analysis)
    return " ".join(sentences)


def _missing_arm(analysis: Analysis) -> str | None:
    """The whole verdict when the baseline or every other arm is missing, else None."""
    if not analysis.paired.has_reference:
        names = ", ".join(arm_label(*arm) for arm in analysis.other_arms)
        return (
            f"No baseline arm (alpha=0) was found, so no paired comparison is possible and nothing can be said "
            f"about the MixUp claim; the table reports {names or 'the arms'} on their own. "
            f"Run the baseline with the same seeds (mixup-bench run without --no-baseline)."
        )
    if not analysis.paired.has_others:
        return (
            "Only the baseline arm was found, so there is no MixUp arm to compare and no paired comparison is "
            "possible; run at least one --alpha above 0."
        )
    return None


def judgements(paired: Paired) -> dict[tuple[str, float], dict[str, str]]:
    """For every arm with a pair: the judgement of each part of the claim (`judge` of its interval)."""
    out = {}
    for arm in paired.compared:
        ivs = {m: paired.get(arm, m) for m in PAIRED_METRICS}
        out[arm] = {m: judge(iv, CLAIM_DIRECTION[m]) if iv else NO_INTERVAL for m, iv in ivs.items()}
    return out


def part_sentences(paired: Paired) -> list[str]:
    """Per part of the claim, the arms that support it, contradict it, leave it inconclusive or give no
    interval (one pair); nothing when no arm has an interval."""
    judged = judgements(paired)
    if all(j == NO_INTERVAL for per_arm in judged.values() for j in per_arm.values()):
        return []
    sentences = [
        f"Part by part, the MixUp claim for every arm against the {_reference_name(paired)} (details per arm follow)."
    ]
    for metric in PAIRED_METRICS:
        groups = []
        for word, link in ((SUPPORTED, "by"), (CONTRADICTED, "by"), (INCONCLUSIVE, "for"), (NO_INTERVAL, "for")):
            named = [arm_label(*arm) for arm, per_arm in judged.items() if per_arm[metric] == word]
            if named:
                what = "no interval (one pair)" if word == NO_INTERVAL else word
                groups.append(f"{what} {link} {_join(named)}")
        sentences.append(_capital(f"{CLAIM_WORDS[metric]} {_short_name(metric)}: {'; '.join(groups)}."))
    return sentences


def _reference_name(paired: Paired) -> str:
    return "baseline" if paired.reference[0] == "baseline" else arm_label(*paired.reference)


def _arm_sentences(paired: Paired, arm: tuple[str, float], name: str) -> list[str]:
    """What the paired differences of one arm say: no pair, one pair, or judged intervals. `name` is how
    the closing sentence names the arm ('alpha=0.4' in MixUp-only experiments, else its label)."""
    label = arm_label(*arm)
    ivs = {m: paired.get(arm, m) for m in PAIRED_METRICS}
    if any(iv is None for iv in ivs.values()):
        no_pair = "has no run whose seed matches a baseline run, so no paired comparison is possible for it."
        return [f"{_capital(label)} {no_pair}"]
    s = paired.arm_summary(arm).iloc[0]
    epochs = (
        f"epoch {s['epoch_max']}" if s["epoch_min"] == s["epoch_max"] else f"epochs {s['epoch_min']}-{s['epoch_max']}"
    )
    if int(s["n"]) < 2:
        return [_single_pair_sentence(label, s["seeds"], epochs, ivs)]
    return _judged_sentences(name, label, int(s["n"]), epochs, ivs)


def _single_pair_sentence(label: str, seed: str, epochs: str, ivs: dict[str, Interval]) -> str:
    parts = [
        f"{METRIC_NAMES[m] if m != 'gap' else 'gap'} {format_diff(m, ivs[m].mean)} (claimed {CLAIM_WORDS[m]})"
        for m in PAIRED_METRICS
    ]
    return (
        f"{_capital(label)} was compared with the baseline on only one seed (seed {seed}, {epochs}), so no "
        f"interval can be given and these differences are single-run observations, not evidence either way: "
        f"{'; '.join(parts)}. None of the claims can be tested with one seed; run more seeds (e.g. --seeds 3)."
    )


def _judged_sentences(name: str, label: str, n: int, epochs: str, ivs: dict[str, Interval]) -> list[str]:
    """Each difference with its interval and judgement, then the claim as a whole."""
    judged = {m: judge(ivs[m], CLAIM_DIRECTION[m]) for m in PAIRED_METRICS}
    parts = [
        f"{METRIC_NAMES[m] if m != 'gap' else 'the test-train loss gap'} by {format_diff(m, ivs[m].mean)} "
        f"({_format_ci(m, ivs[m])}; claimed {CLAIM_WORDS[m]}: {judged[m]})"
        for m in PAIRED_METRICS
    ]
    gen = [m for m in PAIRED_METRICS if m != "clean_train_loss"]
    counts = {k: [m for m in gen if judged[m] == k] for k in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)}
    gen_text = "; ".join(
        f"{k} {'on' if k == INCONCLUSIVE else 'by'} {_join([_short_name(m) for m in counts[k]])}"
        for k in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)
        if counts[k]
    )
    return [
        f"Over {n} paired seeds at {epochs}, {label} changed {', '.join(parts[:-1])} and {parts[-1]}.",
        f"So for {name} the claim of a higher training loss is {judged['clean_train_loss']}, "
        f"and the claim of better generalisation is {gen_text}.",
    ]


def _closing_sentences(analysis: Analysis) -> list[str]:
    """Notes on pairing, partial runs, and what the intervals are."""
    sentences = []
    if analysis.paired.notes:
        sentences.append("Note: " + " ".join(analysis.paired.notes))
    partial = analysis.partial_runs
    if partial:
        sentences.append(f"{len(partial)} run(s) are still partial ({', '.join(partial)}); their numbers may change.")
    if (analysis.paired.summary["n"] >= 2).any():
        sentences.append(
            "Intervals are 95% t intervals over paired seeds, one per comparison, not corrected for making several."
        )
    return sentences


def _capital(text: str) -> str:
    """`text` with its first letter in upper case, to open a sentence ('label smoothing' -> 'Label smoothing')."""
    return text[:1].upper() + text[1:]


def _short_name(metric: str) -> str:
    return {
        "test_acc": "test accuracy",
        "test_loss": "test loss",
        "gap": "gap",
        "test_ece": "ECE",
        "clean_train_loss": "clean train loss",
    }[metric]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

"""The MixUp claim and the verdict on it: for each part of the claim (`metrics.CLAIM`, each with the
direction its `Metric` record predicts), whether the data support it, contradict it, or cannot decide,
at each reporting point. Runs with `--shift` add two parts, more robust to corruptions and to FGSM
(`metrics.SHIFT_CLAIM`), judged in the same way and in the same family, where they were measured.

The judgement is deliberately plain: the paired t test of arm − baseline over seeds (the exact sign-flip
test where the differences do not vary), two-sided at the 5% level, after Holm's correction over the
comparison's family: one arm against its reference, over that arm's parts of the claim (`plot --family
experiment`: every arm's parts at once). In an experiment run with `--until-decided` the p-values are
first made sequential (`mixup_bench.sequential`), so that stopping when the data decide keeps the
error rates. A part whose 95% interval lies within ±margin, the smallest effect of interest of its
`Metric`, is "no effect"; a part still open says about how many paired seeds would decide it. Without
the correction (`plot --no-correction`) a part is judged on its own (sequential) p-value.
"""

from __future__ import annotations

import math

from mixup_bench.analysis.facts import Analysis, Point
from mixup_bench.analysis.stats import COMPARISON, Interval, Paired
from mixup_bench.metrics import METRICS, epoch_span, p_clause
from mixup_bench.naming import arm_label, format_alpha
from mixup_bench.sequential import CONTRADICTED, INCONCLUSIVE, LEVEL, NO_EFFECT, SUPPORTED, word

NO_INTERVAL = "no interval"
__all__ = ["SUPPORTED", "CONTRADICTED", "INCONCLUSIVE", "NO_EFFECT", "NO_INTERVAL", "judge", "verdict"]


def judge(interval: Interval, direction: int, correction: bool = True, margin: float = math.nan) -> str:
    """'supported' if the difference is significant (p < 0.05, Holm-adjusted unless `correction` is
    False) on the side `direction` (+1 above 0, -1 below) predicts, 'contradicted' if on the other
    side; 'no effect' if not significant and the interval lies within ±`margin` (the smallest effect of
    interest); 'inconclusive' otherwise; 'no interval' when there is no test (fewer than two pairs)."""
    p = interval.p_holm if correction else interval.p_seq if math.isfinite(interval.p_seq) else interval.p
    if interval.n < 2 or not math.isfinite(p):
        return NO_INTERVAL
    return word(interval.mean, interval.low, interval.high, p, direction, margin)


def judge_metric(interval: Interval, name: str, correction: bool = True) -> str:
    """`judge` with the direction and margin of the measure `name`."""
    m = METRICS[name]
    return judge(interval, m.direction, correction, m.margin)


def word_text(name: str, judged: str) -> str:
    """A judgement as shown: 'no effect (within ±1 pp)' for NO_EFFECT, the word itself otherwise."""
    return f"{NO_EFFECT} (within {METRICS[name].margin_text})" if judged == NO_EFFECT else judged


def judgements(paired: Paired, correction: bool = True) -> dict[tuple[str, float], dict[str, str]]:
    """For every arm with a pair: the judgement of each part of the claim (`judge` of its comparison)."""
    out = {}
    for arm in paired.compared:
        ivs = {m: paired.get(arm, m) for m in paired.claim_parts(arm)}
        out[arm] = {m: judge_metric(iv, m, correction) if iv else NO_INTERVAL for m, iv in ivs.items()}
    return out


# --- verdict --------------------------------------------------------------------------


def verdict(analysis: Analysis, correction: bool = True) -> str:
    """What the data say about the MixUp claim: one paragraph per reporting point, then one of notes.

    Paragraphs are separated by a blank line. For each reporting point (the last epoch, which is
    pre-registered; then each run's best epoch by validation accuracy, when the runs logged it) and
    each arm but the baseline (MixUp, CutMix, label smoothing, Manifold MixUp) with paired seeds it
    gives arm − baseline for every part of the claim (clean train loss, test accuracy, test loss, the
    gap, ECE), each with its 95% t interval, its p-value (Holm-adjusted unless `correction` is False)
    and a judgement of the claimed direction (`judge`). With a single pair it says that no interval
    can be given. Without a baseline arm, or any other arm, it says that no paired comparison is
    possible. When the experiment holds arms other than MixUp, each point opens with each part of
    the claim and the arms that support it, contradict it or leave it inconclusive.
    """
    missing = _missing_arm(analysis)
    if missing:
        return missing
    paragraphs = [" ".join(_point_sentences(analysis, point, correction)) for point in analysis.points]
    closing = _closing_sentences(analysis, correction)
    return "\n\n".join(paragraphs + ([" ".join(closing)] if closing else []))


def _point_sentences(analysis: Analysis, point: Point, correction: bool) -> list[str]:
    """The sentences of one reporting point: the parts of the claim across arms, then each arm."""
    where = f"at the {point.title}"
    sentences = [] if analysis.mixup_only else part_sentences(point.paired, where, correction)
    for arm in analysis.other_arms:
        name = f"alpha={format_alpha(arm[1])}" if analysis.mixup_only else arm_label(*arm)
        sentences += _arm_sentences(point.paired, arm, name, where, correction)
    return sentences


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


def part_sentences(paired: Paired, where: str = "", correction: bool = True) -> list[str]:
    """Per part of the claim, the arms that support it, contradict it, leave it inconclusive or give no
    interval (one pair); nothing when no arm has an interval. `where` names the reporting point."""
    judged = judgements(paired, correction)
    if all(j == NO_INTERVAL for per_arm in judged.values() for j in per_arm.values()):
        return []
    at = f" {where}" if where else ""
    sentences = [
        f"Part by part{at}, the MixUp claim for every arm against the {_reference_name(paired)} "
        "(details per arm follow)."
    ]
    for name in paired.claim_parts():
        groups = []
        links = (
            (SUPPORTED, "by"),
            (CONTRADICTED, "by"),
            (NO_EFFECT, "for"),
            (INCONCLUSIVE, "for"),
            (NO_INTERVAL, "for"),
        )
        for judged_word, link in links:
            named = [arm_label(*arm) for arm, per_arm in judged.items() if per_arm.get(name) == judged_word]
            if named:
                what = "no interval (one pair)" if judged_word == NO_INTERVAL else word_text(name, judged_word)
                groups.append(f"{what} {link} {_join(named)}")
        m = METRICS[name]
        sentences.append(capital(f"{m.claim} {m.label}: {'; '.join(groups)}."))
    return sentences


def _reference_name(paired: Paired) -> str:
    return "baseline" if paired.reference[0] == "baseline" else arm_label(*paired.reference)


def _arm_sentences(paired: Paired, arm: tuple[str, float], name: str, where: str, correction: bool) -> list[str]:
    """What the paired differences of one arm say at one point: no pair, one pair, or judged comparisons.
    `name` is how the closing sentence names the arm ('alpha=0.4' in MixUp-only experiments, else its label)."""
    label = arm_label(*arm)
    ivs = {m: paired.get(arm, m) for m in paired.claim_parts(arm)}  # robustness parts where this arm measured them
    if any(iv is None for iv in ivs.values()):
        no_pair = "has no run whose seed matches a baseline run, so no paired comparison is possible for it"
        return [f"{capital(label)} {no_pair} {where}."]
    s = paired.arm_summary(arm).iloc[0]
    span = epoch_span(s["epoch_min"], s["epoch_max"])
    epochs = f"epoch {span}" if s["epoch_min"] == s["epoch_max"] else f"epochs {span}"
    if int(s["n"]) < 2:
        return [_single_pair_sentence(label, s["seeds"], f"{where}, {epochs}", ivs)]
    rows = paired.arm_summary(arm).set_index("metric")
    needed = {m: float(rows.at[m, "seeds_needed"]) if "seeds_needed" in rows else math.nan for m in ivs}
    opening = f"{capital(where)}, over {int(s['n'])} paired seeds at {epochs}"
    return _judged_sentences(name, label, opening, ivs, correction, needed)


def _single_pair_sentence(label: str, seed: str, where: str, ivs: dict[str, Interval]) -> str:
    parts = [f"{METRICS[m].short} {METRICS[m].diff_text(ivs[m].mean)} (claimed {METRICS[m].claim})" for m in ivs]
    return (
        f"{capital(label)} was compared with the baseline on only one seed (seed {seed}, {where}), so no "
        f"interval can be given and these differences are single-run observations, not evidence either way: "
        f"{'; '.join(parts)}. None of the claims can be tested with one seed; run more seeds (e.g. --seeds 3)."
    )


def _comparison_text(name: str, iv: Interval, judged: str, correction: bool, needed: float = math.nan) -> str:
    """'+0.201 (95% CI +0.172 to +0.231; Holm p=0.006; claimed higher: supported)'; an inconclusive part
    adds the seeds that would decide it ('inconclusive, about 14 paired seeds would decide it (estimate)')."""
    m = METRICS[name]
    lo, hi = m.diff_text(iv.low, unit=False), m.diff_text(iv.high)
    p = p_clause(iv.p_holm if correction else iv.p_seq, holm=correction)
    test = "" if iv.test in ("", "paired t test") else f", {iv.test}"
    return (
        f"{m.diff_text(iv.mean)} (95% CI {lo} to {hi}; {p}{test}; claimed {m.claim}: {open_text(name, judged, needed)})"
    )


def open_text(name: str, judged: str, needed: float) -> str:
    """`word_text`, and for an inconclusive part with an estimate, about how many paired seeds would decide it."""
    if judged != INCONCLUSIVE or not math.isfinite(needed):
        return word_text(name, judged)
    many = "over 1,000" if needed > 1000 else f"about {int(needed)}"
    return f"{judged}; {many} paired seeds would decide it (estimate, 80% power for {METRICS[name].margin_text})"


def _judged_sentences(
    name: str, label: str, opening: str, ivs: dict[str, Interval], correction: bool, needed: dict[str, float]
) -> list[str]:
    """Each difference with its interval, p-value and judgement, then the claim as a whole."""
    judged = {m: judge_metric(ivs[m], m, correction) for m in ivs}
    parts = [f"{METRICS[m].label} by {_comparison_text(m, ivs[m], judged[m], correction, needed[m])}" for m in ivs]
    first, *generalisation = ivs  # the training loss, then the parts of "generalises better" (robustness too)
    kinds = (SUPPORTED, CONTRADICTED, NO_EFFECT, INCONCLUSIVE)
    counts = {k: [m for m in generalisation if judged[m] == k] for k in kinds}
    gen_text = "; ".join(
        f"{'met by no effect' if k == NO_EFFECT else k} {'on' if k in (INCONCLUSIVE, NO_EFFECT) else 'by'} "
        f"{_join([METRICS[m].short for m in counts[k]])}"
        for k in kinds
        if counts[k]
    )
    return [
        f"{opening}, {label} changed {', '.join(parts[:-1])} and {parts[-1]}.",
        f"So for {name} the claim of a {METRICS[first].claim} training loss is {word_text(first, judged[first])}, "
        f"and the claim of better generalisation is {gen_text}.",
    ]


def _closing_sentences(analysis: Analysis, correction: bool) -> list[str]:
    """Notes on pairing, partial runs, the reporting points, and how the comparisons are judged."""
    sentences = []
    notes = [n for point in analysis.points for n in point.paired.notes]
    if notes:
        sentences.append("Note: " + " ".join(dict.fromkeys(notes)))
    partial = analysis.partial_runs
    if partial:
        sentences.append(f"{len(partial)} run(s) are still partial ({', '.join(partial)}); their numbers may change.")
    if analysis.best_val is None:
        sentences.append("The runs logged no validation accuracy, so only the last epoch is reported.")
    if any((point.paired.summary["n"] >= 2).any() for point in analysis.points):
        sentences.append(judging_sentence([point.paired for point in analysis.points], correction))
    return sentences


def judging_sentence(paired: list[Paired], correction: bool) -> str:
    """How the words were reached: the intervals, the test, the procedure and the family the correction runs over."""
    first = paired[0]
    sequential = len(first.looks) > 1
    text = "Intervals are 95% t intervals over paired seeds, one per comparison; " + (
        f"the seeds were added until decided ({first.procedure}), so p-values are sequential and intervals "
        "hold over every look at once (docs/metrics.md). "
        if sequential
        else "the seeds were fixed in advance (fixed-n). "
    )
    test = "its paired t test (the exact sign-flip test where the differences do not vary)"
    margin = (
        " A part whose interval lies within ±its smallest effect of interest (docs/metrics.md) is no effect; an "
        "inconclusive part says about how many paired seeds would decide it, an estimate from the observed spread."
    )
    if not correction:
        total = sum(p.family_size for p in paired)
        return text + (
            f"A part is supported or contradicted when {test} gives p < {LEVEL:g} on its own "
            f"(--no-correction: the {total} comparisons are not corrected for being several)." + margin
        )
    sizes = sorted({p.family_size for p in paired})
    family = (
        f"each comparison's {'/'.join(map(str, sizes))} parts (one family per arm against its reference)"
        if first.family == COMPARISON
        else f"every comparison of the experiment at once ({'/'.join(map(str, sizes))}; --family experiment)"
    )
    return text + (
        f"A part is supported or contradicted when {test} gives p < {LEVEL:g} after Holm's correction over "
        f"{family}; the raw p-values are in summary.md." + margin
    )


def capital(text: str) -> str:
    """`text` with its first letter in upper case, to open a sentence ('label smoothing' -> 'Label smoothing')."""
    return text[:1].upper() + text[1:]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

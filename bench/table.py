"""The printed table: the figures, then each target with its measurement."""

from __future__ import annotations

from .receive import Options, Report


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _check(value: float | None, ok: bool) -> str:
    return "n/a" if value is None else ("met" if ok else "MISSED")


def render(report: Report, opts: Options) -> str:
    """Markdown tables of one run."""
    out: list[str] = []
    if report.receive:
        out += [
            f"receive, {opts.connections} connections (median of rounds)",
            "",
            _row("target", "req/s", "p50 ms", "p99 ms", "errors"),
            _row("---", "---:", "---:", "---:", "---:"),
        ]
        for name, r in report.receive.items():
            out.append(_row(name, f"{r.rps:.0f}", f"{r.p50:.1f}", f"{r.p99:.1f}", r.errors))
        out += ["", _row("ratio (median of per-round ratios)", "value"), _row("---", "---:")]
        out += [_row(name, f"{v:.2f}") for name, v in report.ratios.items()]
        out += ["", f"receive, {opts.many_connections} connections (one run)", ""]
        out += [_row("target", "req/s", "p99 ms", "errors"), _row("---", "---:", "---:", "---:")]
        for name, r in report.many.items():
            out.append(_row(name, f"{r.rps:.0f}", f"{r.p99:.1f}", r.errors))
        out.append("")
    if report.growth:
        out += [
            f"growth: empty vs {opts.growth_rows:,} stored messages",
            "",
            _row(
                "db",
                "preload s",
                "empty req/s",
                "full req/s",
                "full/empty",
                "messages p95 empty ms",
                "messages p95 full ms",
            ),
            _row("---", "---:", "---:", "---:", "---:", "---:", "---:"),
        ]
        for kind, g in report.growth.items():
            listing = report.listing.get(kind, {})
            p95 = [
                f"{r.p95:.1f}" if r else "no endpoint"
                for r in (listing.get("empty"), listing.get("full"))
            ]
            out.append(
                _row(
                    kind,
                    f"{report.preload_seconds[kind]:.0f}",
                    f"{g['empty'].rps:.0f}",
                    f"{g['full'].rps:.0f}",
                    f"{report.growth_ratio[kind]:.2f}",
                    *p95,
                )
            )
        out.append("")
    if report.forms:
        kinds = list(report.forms)
        out += [
            "/router/messages per form on the full database (each form alone, 4 connections)",
            "",
            _row("form", *(f"{kind} {p} ms" for kind in kinds for p in ("p50", "p95"))),
            _row("---", *(["---:"] * 2 * len(kinds))),
        ]
        for form in report.forms[kinds[0]]:
            cells = []
            for kind in kinds:
                r = report.forms[kind].get(form)
                cells += [f"{r.p50:.1f}", f"{r.p95:.1f}"] if r else ["", ""]
            out.append(_row(f"`{form}`", *cells))
        out.append("")
    if report.drains:
        out += [
            f"drains of {opts.drain_messages:,} messages",
            "",
            _row("run", "messages/s"),
            _row("---", "---:"),
        ]
        out += [
            _row(k, f"{v:.0f}" if isinstance(v, float) else v) for k, v in report.drains.items()
        ]
        out.append("")
    if report.rss:
        out += ["peak RSS", "", _row("process", "MB"), _row("---", "---:")]
        out += [_row(k, f"{v:.0f}") for k, v in report.rss.items()]
        out.append("")
    out += [
        "targets",
        "",
        _row("figure", "measured", "target", "verdict"),
        _row("---", "---:", "---", "---"),
    ]
    out += [_row(*t) for t in targets(report)]
    return "\n".join(out)


def targets(report: Report) -> list[tuple[str, str, str, str]]:
    """Each target of the issue next to what this run measured."""
    rows: list[tuple[str, str, str, str]] = []
    for kind in ("sqlite", "postgresql"):
        ratio = report.ratios.get(f"httprouter {kind} / ceiling-db {kind}")
        if ratio is not None:
            rows.append(
                (
                    f"receive+echo / ceiling-db, {kind}",
                    f"{ratio:.2f}",
                    ">= 0.75",
                    _check(ratio, ratio >= 0.75),
                )
            )
        r = report.receive.get(f"httprouter {kind}")
        if r is not None:
            rows.append(
                (
                    f"receive p99 at 16 connections, {kind}",
                    f"{r.p99:.1f} ms",
                    "< 100 ms",
                    _check(r.p99, r.p99 < 100),
                )
            )
        many = report.many.get(f"httprouter-{kind}")
        if many is not None:
            rows.append(
                (
                    f"errors at 512 connections, {kind}",
                    str(many.errors),
                    "0",
                    _check(many.errors, many.errors == 0),
                )
            )
        g = report.growth_ratio.get(kind)
        if g is not None:
            rows.append((f"receive full/empty, {kind}", f"{g:.2f}", ">= 0.8", _check(g, g >= 0.8)))
        full = report.listing.get(kind, {}).get("full")
        if kind in report.listing:
            rows.append(
                (
                    f"/router/messages p95 at full, {kind}",
                    f"{full.p95:.1f} ms" if full else "no endpoint",
                    "< 200 ms",
                    _check(full.p95 if full else None, bool(full and full.p95 < 200)),
                )
            )
    for label, value in report.drains.items():
        if not isinstance(value, float):
            rows.append((label, value, "", "n/a"))
        elif label.startswith("push, 1 worker"):
            rows.append((label, f"{value:.0f}/s", ">= 500/s", _check(value, value >= 500)))
        elif label.startswith("outbox"):
            rows.append((label, f"{value:.0f}/s", ">= 2000/s", _check(value, value >= 2000)))
    one = report.drains.get("push, 1 worker postgresql")
    four = report.drains.get("push, 4 workers postgresql")
    if isinstance(one, float) and isinstance(four, float) and one > 0:
        rows.append(
            (
                "push 4 workers / 1 worker, postgresql",
                f"{four / one:.2f}",
                ">= 1.6",
                _check(four, four / one >= 1.6),
            )
        )
    for kind in ("gunicorn worker", "dispatcher"):
        values = [v for k, v in report.rss.items() if k.startswith(kind)]
        if values:
            rows.append(
                (
                    f"peak RSS, largest {kind}",
                    f"{max(values):.0f} MB",
                    "< 100 MB",
                    _check(max(values), max(values) < 100),
                )
            )
    return rows

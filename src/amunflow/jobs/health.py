"""The health checks of a run (amunflow.health): a table, a green/red page for the report, and with
``health.strict`` a failed run when any check fails."""

from __future__ import annotations

import json
import logging

import pandas as pd

from .. import UserError
from ..health import checks, to_html
from ..io import atomic_path

log = logging.getLogger(__name__)


def health_job(originals, retrains, adversarial, references, runs_csv, agg_csv, bars: dict, out_csv, out_html):
    """``originals`` maps a model seed to its sidecar path; the others are lists of sidecars and D_A
    summary CSVs."""
    table = checks(
        {m: json.loads(open(p).read()) for m, p in originals.items()},
        [json.loads(open(p).read()) for p in retrains],
        [pd.read_csv(p).iloc[0].to_dict() for p in adversarial],
        [json.loads(open(p).read()) for p in references],
        pd.read_csv(runs_csv),
        pd.read_csv(agg_csv),
        bars,
    )
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out_html) as tmp:
        tmp.write_text(to_html(table))
    failed = table[table["status"] == "FAIL"]
    for r in failed.itertuples():
        log.warning("health check failed: %s (%s): %.4g, bar %s", r.check, r.scope, r.value, r.bar)
    if bars["strict"] and len(failed):
        first = failed.iloc[0]
        raise UserError(
            f"{len(failed)} health checks failed (health.strict is true), e.g. '{first['check']}' for "
            f"{first['scope']}: {first['value']:.4g}, bar {first['bar']}; see {out_html}."
        )
    return table

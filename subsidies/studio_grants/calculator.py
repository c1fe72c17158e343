"""The studio grant's calculator, registered with the calculation runs
(subsidies.schemes): facts from the registry (the studio as it is now), amounts pure
(amounts.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from registry.studios.tables import Studio
from subsidies.schemes import SchemeCalculator, register
from subsidies.studio_grants.amounts import SCHEME, calculate

COLUMNS = ("studio_id", "claimed_level", "studio_level", "studio_status", "host_is_claimant")
_BATCH = 1_000


def _detail(details: pd.Series, key: str) -> pd.Series:
    return details.map(lambda d: d.get(key) if isinstance(d, dict) else None)


async def load_inputs(claims: pd.DataFrame) -> pd.DataFrame:
    """Per claim: the studio and level it names (details) and the studio's status, level
    and host now. No cap spans claims (once per studio and level is the dedupe key)."""
    index = pd.Index(claims["id"].to_numpy(dtype=np.int64), name="id")
    studio_ids = pd.to_numeric(_detail(claims["details"], "studio_id"), errors="coerce")
    wanted = sorted({int(s) for s in studio_ids.dropna()})
    found: list[dict] = []
    for start in range(0, len(wanted), _BATCH):
        found += (
            await Studio.select(Studio.id, Studio.host, Studio.status, Studio.level)
            .where(Studio.id.is_in(wanted[start : start + _BATCH]))
            .run()
        )
    studios = pd.DataFrame(found, columns=["id", "host", "status", "level"]).set_index("id")
    studio = studios.reindex(studio_ids.to_numpy())
    out = pd.DataFrame(index=index)
    out["studio_id"] = studio_ids.to_numpy()
    out["claimed_level"] = _detail(claims["details"], "level").to_numpy()
    out["studio_level"] = studio["level"].to_numpy()
    out["studio_status"] = studio["status"].to_numpy()
    out["host_is_claimant"] = studio["host"].to_numpy() == claims["claimant_id"].to_numpy()
    out["cap_key"] = None
    return out


CALCULATOR = register(SchemeCalculator(SCHEME, load_inputs, calculate))

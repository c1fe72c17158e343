"""The repository's default documents come into the catalogue at migration
(catalogue.sync_defaults): new files are added, a changed file replaces its version only
while no calculation used it, and a changed used one fails loudly naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.db import unit_of_work
from subsidies.policies import catalogue, documents
from subsidies.policies.documents import PolicyError

GRANT = """\
scheme = "studio_grant"
version = {version}
title_zh = "技能大师工作室建设资助（测试）"
title_en = "Skills master studio grant (test)"
source = "test"
effective_from = 2090-01-01
payee = "organisation"

[parameters.amount_by_level_fen]
city = {city}
province = 20000000
national = 50000000
"""


def write(path: Path, version: int, city_fen: int) -> None:
    path.write_text(GRANT.format(version=version, city=city_fen), encoding="utf-8")


async def test_defaults_are_added_corrected_while_unused_and_refused_once_used(
    db, tmp_path, monkeypatch
):
    version = 40 + (1 if db.startswith("sqlite") else 2)
    path: Path = tmp_path / f"studio_grant.v{version}.toml"
    real = documents.load_defaults_with_paths
    monkeypatch.setattr(documents, "load_defaults_with_paths", lambda: real(tmp_path))
    write(path, version, 10_000_000)
    assert await catalogue.sync_defaults() == [f"added {path.name}"]
    assert await catalogue.sync_defaults() == []  # unchanged: nothing to do

    write(path, version, 12_000_000)
    assert await catalogue.sync_defaults() == [f"updated {path.name}"]
    stored = await catalogue.get_version("studio_grant", version)
    assert stored.policy.parameters.amount_by_level_fen["city"] == 12_000_000
    assert stored.origin == "file" and stored.origin_file == path.name

    async with unit_of_work():
        await catalogue.mark_used([stored])
    write(path, version, 15_000_000)
    with pytest.raises(PolicyError) as refused:
        await catalogue.sync_defaults()
    assert refused.value.source == path.name
    assert "was used by a calculation" in refused.value.problems[0]
    assert "new version number" in refused.value.problems[0]
    kept = await catalogue.get_version("studio_grant", version)
    assert kept.policy.parameters.amount_by_level_fen["city"] == 12_000_000

"""Writes a frozen store with this release, and the answers this release gives on it.

Run by hand, on purpose, never by the suite (see tests/frozen/README.md):

    .venv/bin/python -m tests.frozen.make_frozen_store tests/frozen/2026-12-07
    .venv/bin/python -m tests.frozen.make_frozen_store tests/frozen/2026-12-07-people --story people

It writes a story (`tests/frozen/story.py` by default, `--story people` for `people_story.py`) into an empty data directory on the embedded
default, with the data directory's secrets fixed below, packs the event stores and the secrets
into `store.tar.gz` (no read model: those are rebuilt from the events), then unpacks that copy
into another empty directory, rebuilds its read models and writes what the release answers to
`answers.json` — the very path the test takes. `--answers-only` asks an existing copy again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Protocol

from services.auth.secret_keys import SECRET_FILE
from services.bootstrap import Container, build_container
from services.persistence.keys import MASTER_KEY_FILE
from tests.frozen.languages_story import LanguagesStory
from tests.frozen.people_questions import outbox_of
from tests.frozen.people_story import PeopleStory
from tests.frozen.questions import ask, rebuild_read_models, settings_for, the_tenant
from tests.frozen.replay import replay_everything
from tests.frozen.story import FrozenStory

# The frozen copy's secrets, kept in its data directory as the embedded default keeps them. Fixed
# and published so that anyone can open the copy; they protect nothing.
FROZEN_JWT_SECRET = "frozen-store-platform-secret-9f3c2a71d84b5e60-not-a-real-secret"
FROZEN_MASTER_KEY = "ZnJvemVuLXN0b3JlLW1hc3Rlci1rZXktMzItYnl0ZXM="  # base64 of 32 bytes
STORE = "store.tar.gz"
ANSWERS = "answers.json"
# What the copy holds: the secrets and the event stores (control plane, tenant keys, tenants).
STORE_FILES = (SECRET_FILE, MASTER_KEY_FILE)
VIEWS_MARK = "views"


class Story(Protocol):
    def write(self) -> None: ...


class StoryKind(Protocol):
    def __call__(self, container: Container) -> Story: ...


# The stories a copy may be written with, by name (each copy's README row says which).
STORIES: dict[str, StoryKind] = {
    "two-years": FrozenStory,
    "people": PeopleStory,
    "languages": LanguagesStory,
}


def write_store(data_dir: Path, story: StoryKind = FrozenStory) -> None:
    """The story written with this release into the empty `data_dir`."""
    data_dir.mkdir(parents=True)
    (data_dir / SECRET_FILE).write_text(FROZEN_JWT_SECRET, encoding="ascii")
    (data_dir / MASTER_KEY_FILE).write_text(FROZEN_MASTER_KEY, encoding="ascii")
    container = build_container(settings_for(data_dir))
    try:
        story(container).write()
    finally:
        asyncio.run(container.close())


def event_store_files(data_dir: Path) -> list[Path]:
    """The files of the copy: the secrets, and every store that is not a read model."""
    stores = sorted(
        p for p in (data_dir / "stores").iterdir() if p.suffix == ".sqlite3" and VIEWS_MARK not in p.name
    )
    return [data_dir / name for name in STORE_FILES] + stores


def pack(data_dir: Path, archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz", compresslevel=9) as tar:
        for path in event_store_files(data_dir):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(data_dir)))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as body:
                tar.addfile(info, body)


def unpack(archive: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(data_dir, filter="data")


def answers_of(data_dir: Path) -> dict[str, Any]:
    """What the release answers on the copy unpacked in `data_dir`: read models rebuilt from the
    events, every question asked, every aggregate replayed."""
    applied = rebuild_read_models(data_dir)
    container = build_container(settings_for(data_dir))
    try:
        tenant_id = the_tenant(container).id
    finally:
        asyncio.run(container.close())
    # Before anything is served: what the outbox holds as the events left it.
    outbox = outbox_of(settings_for(data_dir), tenant_id)
    answers = asyncio.run(ask(data_dir))
    answers["people_and_messages"]["outbox"] = outbox
    container = build_container(settings_for(data_dir))
    try:
        answers["aggregates"] = replay_everything(container, tenant_id)
    finally:
        asyncio.run(container.close())
    answers["rebuild"] = {"events_applied": applied}
    return answers


def dump(answers: dict[str, Any]) -> str:
    return json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the frozen copy's folder, named after the release's date")
    parser.add_argument("--story", choices=sorted(STORIES), default="two-years", help="the story to write")
    parser.add_argument("--answers-only", action="store_true", help="ask an existing copy again")
    args = parser.parse_args(argv)
    target: Path = args.target
    with tempfile.TemporaryDirectory() as scratch:
        if not args.answers_only:
            if (target / STORE).exists():
                sys.exit(
                    f"{target / STORE} exists: a frozen copy is never rewritten; make a new one beside it"
                )
            written = Path(scratch) / "written"
            write_store(written, STORIES[args.story])
            pack(written, target / STORE)
        fresh = Path(scratch) / "fresh"
        unpack(target / STORE, fresh)
        (target / ANSWERS).write_text(dump(answers_of(fresh)), encoding="utf-8")
    print(f"wrote {target / STORE} ({(target / STORE).stat().st_size} bytes) and {target / ANSWERS}")


if __name__ == "__main__":
    main()

"""python manage.py import_dicom PATH… — files, folders, ZIPs and DICOMDIR media into the archive,
through the same ingest funnel as every other way in. The given files are only read.

Exit status: 0 when every DICOM file was stored or was already stored (skipped non-DICOM
files and DICOMDIR indexes do not count against it), 1 when anything was rejected.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from studies import sources
from studies.ingest import Origin, ingest_file

LABELS = {
    sources.STORED: "stored",
    sources.DUPLICATE: "already stored",
    sources.REJECTED: "rejected",
    sources.SKIPPED: "skipped",
}


class Command(BaseCommand):
    help = (
        "Import DICOM files, folders, ZIP archives or a DICOMDIR into the archive. Exit status 0 when "
        "everything was stored or already stored (non-DICOM files are skipped), 1 when anything was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="files, folders, ZIPs or DICOMDIR files")
        parser.add_argument("--user", help="record this username as the uploader (they will see the studies)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, paths: list[Path], user: str | None, no_progress: bool, **options):
        origin = Origin(user_id=self._user_id(user))
        tally: Counter = Counter()
        problems: list[tuple[str, str, str]] = []
        with sources.collect(paths) as found:
            bar = tqdm(found, total=len(found), unit="file", disable=no_progress, file=self.stderr._out, dynamic_ncols=True)
            for source in bar:
                status, reason = self._import(source, origin)
                tally[status] += 1
                if status in (sources.REJECTED, sources.SKIPPED):
                    problems.append((status, source.name, reason))
                bar.set_postfix_str(f"{tally[sources.STORED]} stored, {tally[sources.REJECTED]} rejected", refresh=False)
            bar.close()
        self._summary(tally, problems)
        if tally[sources.REJECTED]:
            raise CommandError(f"{tally[sources.REJECTED]} file(s) rejected", returncode=1)

    def _import(self, source: sources.Source, origin: Origin) -> tuple[str, str]:
        if source.path is None:
            return source.status, source.reason
        try:
            return sources.classify(ingest_file(source.path, origin=origin))
        except Exception as exc:  # one bad file never stops the import
            return sources.REJECTED, f"an unexpected error stopped this file from being stored ({exc.__class__.__name__}: {exc})"

    def _user_id(self, username: str | None) -> int | None:
        if not username:
            return None
        try:
            return get_user_model().objects.get_by_natural_key(username).pk
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None

    def _summary(self, tally: Counter, problems: list[tuple[str, str, str]]) -> None:
        for status, name, reason in problems:
            style = self.style.ERROR if status == sources.REJECTED else self.style.WARNING
            self.stdout.write(style(f"{LABELS[status]}: {name}: {reason}"))
        total = sum(tally.values())
        parts = ", ".join(f"{tally[status]} {label}" for status, label in LABELS.items())
        style = self.style.ERROR if tally[sources.REJECTED] else self.style.SUCCESS
        self.stdout.write(style(f"{total} files: {parts}"))

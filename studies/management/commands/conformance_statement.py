"""Generate the tables of docs/conformance.md from the code that decides them.

The listener's presentation contexts come from the Application Entity the listener builds
(studies.dimse.server.build_ae), the DICOMweb resources from studies/dicomweb/urls.py, so a
context or route added in code shows up as a difference here (and in
tests/studies/test_conformance_statement.py) until the statement is regenerated.

    python manage.py conformance_statement            # print the generated sections
    python manage.py conformance_statement --write    # rewrite them in docs/conformance.md
    python manage.py conformance_statement --check    # fail if docs/conformance.md is stale
"""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pydicom.uid import UID
from pynetdicom.sop_class import Verification

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "conformance.md"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
MARKER = re.compile(r"(<!-- generated:(?P<name>[\w-]+) begin[^>]*-->\n)(?P<body>.*?)(<!-- generated:(?P=name) end -->)", re.S)


def listener_contexts() -> list:
    """The presentation contexts the listener offers to accept (its supported contexts)."""
    from studies.dimse.limits import AssociationCounts
    from studies.dimse.server import ListenerConfig, build_ae

    return list(build_ae(ListenerConfig.from_settings(), AssociationCounts([0])).supported_contexts)


def _name(uid: str) -> str:
    """The UID's name in pydicom's dictionary, else pynetdicom's keyword spelt out (newer classes)."""
    if UID(uid).name != uid:
        return UID(uid).name
    from pynetdicom import sop_class

    keyword = {value: key for key, value in sop_class._STORAGE_CLASSES.items()}.get(uid)
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", keyword) if keyword else "(unnamed)"


def _is_storage(context) -> bool:
    from studies.dimse.find import QUERY_RETRIEVE_MODELS

    return context.abstract_syntax != Verification and context.abstract_syntax not in QUERY_RETRIEVE_MODELS


def _roles(context) -> str:
    # SCP is our default role as acceptor; scp_role=True lets a C-GET requestor take the SCP
    # role for C-STORE sub-operations, making us the SCU on that context (PS3.7 D.3.3.4).
    return "SCP and SCU (C-GET sub-operations)" if context.scp_role else "SCP"


def transfer_syntaxes_section(contexts: list) -> str:
    storage = [cx for cx in contexts if _is_storage(cx)]
    everything = list(dict.fromkeys(ts for cx in contexts for ts in cx.transfer_syntax))
    on_storage = set.intersection(*(set(cx.transfer_syntax) for cx in storage)) if storage else set()
    lines = [
        f"{len(everything)} transfer syntaxes. Storage contexts accept every one marked *storage*;",
        "Verification and Query/Retrieve contexts accept the ones marked *all contexts*.",
        "",
        "| Transfer syntax | UID | Accepted on |",
        "|---|---|---|",
    ]
    for ts in everything:
        everywhere = all(ts in cx.transfer_syntax for cx in contexts)
        where = "all contexts" if everywhere else ("storage" if ts in on_storage else "some storage contexts")
        lines.append(f"| {_name(ts)} | `{ts}` | {where} |")
    return "\n".join(lines) + "\n"


def non_storage_section(contexts: list) -> str:
    lines = ["| SOP class | UID | Our role | Transfer syntaxes |", "|---|---|---|---|"]
    for cx in contexts:
        if _is_storage(cx):
            continue
        syntaxes = ", ".join(_name(ts) for ts in cx.transfer_syntax)
        lines.append(f"| {_name(cx.abstract_syntax)} | `{cx.abstract_syntax}` | SCP | {syntaxes} |")
    return "\n".join(lines) + "\n"


def storage_section(contexts: list) -> str:
    storage = [cx for cx in contexts if _is_storage(cx)]
    lines = [
        f"{len(storage)} storage SOP classes, in the transfer syntaxes marked *storage* above.",
        "",
        "| SOP class | UID | Our role |",
        "|---|---|---|",
    ]
    for cx in sorted(storage, key=lambda cx: _name(cx.abstract_syntax)):
        lines.append(f"| {_name(cx.abstract_syntax)} | `{cx.abstract_syntax}` | {_roles(cx)} |")
    return "\n".join(lines) + "\n"


def dicomweb_routes() -> list[tuple[str, str, str]]:
    """(name, methods, path) of every DICOMweb route, in urls.py order."""
    from django.urls import reverse

    from studies.dicomweb import urls

    prefix = reverse("dicomweb:studies").removesuffix("studies")
    routes = []
    for pattern in urls.urlpatterns:
        view = pattern.callback.view_class
        methods = ", ".join(m.upper() for m in HTTP_METHODS if hasattr(view, m))
        routes.append((pattern.name, methods, f"{prefix}{pattern.pattern}"))
    return routes


def dicomweb_section() -> str:
    lines = ["| Route name | Methods | Path |", "|---|---|---|"]
    lines += [f"| `{name}` | {methods} | `{path}` |" for name, methods, path in dicomweb_routes()]
    return "\n".join(lines) + "\n"


def sections() -> dict[str, str]:
    contexts = listener_contexts()
    return {
        "transfer-syntaxes": transfer_syntaxes_section(contexts),
        "verification-query-retrieve": non_storage_section(contexts),
        "storage-sop-classes": storage_section(contexts),
        "dicomweb-routes": dicomweb_section(),
    }


def regenerate(text: str, generated: dict[str, str]) -> str:
    """``text`` with the body between each pair of markers replaced by its generated section."""
    found = {m.group("name") for m in MARKER.finditer(text)}
    missing = set(generated) - found
    if missing:
        raise CommandError(f"markers missing in the document: {', '.join(sorted(missing))}")
    return MARKER.sub(lambda m: m.group(1) + generated.get(m.group("name"), m.group("body")) + m.group(4), text)


class Command(BaseCommand):
    help = "Print, write or check the generated tables of the DICOM conformance statement."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--write", action="store_true", help="rewrite the generated sections in the document")
        mode.add_argument("--check", action="store_true", help="exit with an error if the document is out of date")
        parser.add_argument("--path", type=Path, default=DOCUMENT, help=f"the document (default {DOCUMENT})")

    def handle(self, *args, write: bool, check: bool, path: Path, **options):
        generated = sections()
        if not (write or check):
            for name, body in generated.items():
                self.stdout.write(f"<!-- generated:{name} -->\n{body}")
            return
        current = path.read_text(encoding="utf-8")
        updated = regenerate(current, generated)
        if check:
            if updated != current:
                raise CommandError(f"{path} is out of date: run `python manage.py conformance_statement --write`")
            self.stdout.write(f"{path} is up to date")
            return
        if updated != current:
            path.write_text(updated, encoding="utf-8")
            self.stdout.write(f"{path} updated")
        else:
            self.stdout.write(f"{path} already up to date")

"""Fill the index with a realistic-looking archive of N studies (rows only, no files), fast.

Patients with PN names, IDs and birth dates; studies over twenty years with a modality mix,
accession numbers and descriptions; 1–4 series each; one Instance row per study so that the
"uploaded by" visibility rule has rows to look at. Deterministic for a given seed.

Used by bench/study_search.py; needs Django set up against a scratch database.
"""
from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

FAMILY = (
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ GONZALEZ "
    "WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK "
    "RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS "
    "NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS MULLER SCHMIDT SCHNEIDER FISCHER WEBER "
    "MEYER WAGNER BECKER SCHULZ HOFFMANN DUBOIS MOREAU LAURENT SIMON MICHEL LEFEBVRE LEROY ROUX DAVID "
    "BERTRAND ROSSI RUSSO FERRARI ESPOSITO BIANCHI ROMANO COLOMBO RICCI MARINO GRECO JANSEN DEVRIES "
    "VANDIJK BAKKER VISSER SMIT MEIJER NOWAK KOWALSKI WISNIEWSKI WOJCIK KOWALCZYK KAMINSKI LEWANDOWSKI "
    "ZIELINSKI SZYMANSKI IVANOV SMIRNOV KUZNETSOV POPOV SOKOLOV LEBEDEV KOZLOV NOVIKOV MOROZOV PETROV "
    "SATO SUZUKI TAKAHASHI TANAKA WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI KATO KIM PARK CHOI JUNG KANG "
    "CHO YOON JANG LIM HAN WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE "
    "OCONNOR OBRIEN MURPHY KELLY SULLIVAN WALSH BYRNE RYAN DOYLE MCCARTHY NILSSON JOHANSSON LARSSON "
    "ANDERSSON PETTERSSON HANSEN NIELSEN JENSEN PEDERSEN OLSEN SILVA SANTOS FERREIRA PEREIRA OLIVEIRA "
    "COSTA RODRIGUES MARTINS JESUS SOUSA FERNANDES GOMES LOPES MARQUES ALVES ALMEIDA RIBEIRO PINTO"
).split()
GIVEN = (
    "JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA RICHARD SUSAN "
    "JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER LISA DANIEL NANCY MATTHEW BETTY ANTHONY MARGARET "
    "MARK SANDRA DONALD ASHLEY STEVEN KIMBERLY PAUL EMILY ANDREW DONNA JOSHUA MICHELLE KENNETH CAROL KEVIN "
    "AMANDA BRIAN DOROTHY GEORGE MELISSA TIMOTHY DEBORAH ANNA HANS PETER KLAUS MARIE SOPHIE LUCAS EMMA "
    "LEON MIA NOAH HANNAH ELIAS LENA PIERRE CAMILLE LOUIS CHLOE MARCO GIULIA LUCA SOFIA PIOTR ANNA "
    "IVAN OLGA DMITRI NATALIA HIROSHI YUKI KENJI AIKO MINJUN SEOYEON WEI XIAN LEI MEI SEAN AOIFE "
    "LARS INGRID ERIK ASTRID JOAO MARIANA PEDRO BEATRIZ"
).split()
# Modality mix of a general hospital, with the multi-modality studies a PET/CT or RT plan makes.
MODALITIES = [
    ("CT", 28), ("MR", 18), ("CR", 12), ("DX", 10), ("US", 10), ("MG", 6), ("XA", 3), ("NM", 2),
    ("CT\\PT", 3), ("CT\\SR", 2), ("MR\\SR", 2), ("CT\\RTSTRUCT", 1), ("OT", 1), ("CT\\SEG", 1), ("RF", 1),
]
DESCRIPTIONS = {
    "CT": ["CT HEAD WO CONTRAST", "CT CHEST W CONTRAST", "CT ABDOMEN PELVIS W CONTRAST", "CTA HEAD NECK", "CT CHEST LOW DOSE SCREENING", "CT SPINE LUMBAR"],
    "MR": ["MR BRAIN W WO CONTRAST", "MR KNEE LEFT", "MR KNEE RIGHT", "MR LUMBAR SPINE", "MR PROSTATE MULTIPARAMETRIC", "MR LIVER"],
    "CR": ["XR CHEST 2 VIEWS", "XR HAND RIGHT", "XR PELVIS", "XR KNEE LEFT 3 VIEWS"],
    "DX": ["XR CHEST PA", "XR ANKLE RIGHT", "XR WRIST LEFT", "XR SHOULDER RIGHT"],
    "US": ["US ABDOMEN COMPLETE", "US THYROID", "US OB 2ND TRIMESTER", "US CAROTID DOPPLER"],
    "MG": ["MAMMO SCREENING BILATERAL", "MAMMO DIAGNOSTIC LEFT"],
    "XA": ["CORONARY ANGIOGRAPHY", "CEREBRAL ANGIOGRAPHY"],
    "NM": ["NM BONE SCAN WHOLE BODY", "NM MYOCARDIAL PERFUSION"],
    "PT": ["PET CT WHOLE BODY FDG", "PET CT PSMA"],
    "OT": ["OUTSIDE IMAGES"],
    "RF": ["FLUORO BARIUM SWALLOW"],
}
BODY_PARTS = {"CT": "CHEST", "MR": "BRAIN", "CR": "CHEST", "DX": "EXTREMITY", "US": "ABDOMEN", "MG": "BREAST"}
FIRST_DAY = date(2005, 1, 1)
DAYS = (date(2025, 12, 31) - FIRST_DAY).days


def seed(studies: int, *, uploader, referrer, referrer_share: float = 0.01, seed: int = 1) -> dict:
    """Create ``studies`` studies; ``referrer`` uploaded about ``referrer_share`` of them,
    ``uploader`` the rest. Returns sample values for the queries (ids, accessions, ...)."""
    from studies.ingest import searchable_name
    from studies.models import Instance, Patient, Series, Study, StudyAccess

    rng = random.Random(seed)
    modality_codes, weights = zip(*MODALITIES)

    patients = []
    for n in range(int(studies * 0.6)):
        name = f"{rng.choice(FAMILY)}^{rng.choice(GIVEN)}" + (f"^{rng.choice(GIVEN)[0]}" if rng.random() < 0.2 else "")
        patients.append({
            "patient_key": hashlib.sha256(f"\x00P{n:08d}".encode()).hexdigest(),
            "patient_id": f"P{n:08d}",
            "patient_name": name,
            "patient_name_search": searchable_name(name),
            "patient_birth_date": date(1925, 1, 1) + timedelta(days=rng.randrange(365 * 98)),
            "patient_sex": rng.choice("MF"),
        })
    patient_ids = copy_rows(Patient, patients)

    study_rows, series_rows, instance_rows = [], [], []
    referrer_studies = 0
    for n in range(studies):
        modalities = rng.choices(modality_codes, weights)[0].split("\\")
        series_count = rng.randint(1, 4) if modalities[0] in ("CT", "MR", "PT") else rng.randint(1, 2)
        study_uid = f"2.25.{10**20 + n}"
        study_rows.append({
            "study_instance_uid": study_uid,
            "patient_id": rng.choice(patient_ids),
            "study_date": FIRST_DAY + timedelta(days=rng.randrange(DAYS)) if rng.random() > 0.002 else None,
            "study_description": rng.choice(DESCRIPTIONS["PT" if "PT" in modalities else modalities[0]]),
            "accession_number": f"A{20050000 + n * 7:010d}",
            "modalities_in_study": "\\".join(sorted(modalities)),
            "number_of_study_related_series": series_count,
            "number_of_study_related_instances": series_count * 100,
            "in_reading_pool": True,
        })
        for s in range(series_count):
            modality = modalities[s % len(modalities)]
            series_rows.append({
                "series_instance_uid": f"{study_uid}.{s + 1}",
                "study_id": n,  # the study's index for now; its id once the studies are in
                "modality": modality,
                "series_number": s + 1,
                "series_description": f"{modality} series {s + 1}",
                "body_part_examined": BODY_PARTS.get(modality, ""),
                "number_of_series_related_instances": 100,
            })
            if s == 0:
                # One instance row in the first series of each study: enough for the visibility rule.
                by_referrer = rng.random() < referrer_share
                referrer_studies += by_referrer
                uid = f"{study_uid}.1.1"
                instance_rows.append({
                    "sop_instance_uid": uid,
                    "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
                    "series_id": len(series_rows) - 1,  # index, as above
                    "instance_number": 1,
                    "transfer_syntax_uid": "1.2.840.10008.1.2.1",
                    "rows": 512,
                    "columns": 512,
                    "storage_key": f"bench/{uid}.dcm",
                    "file_size": 526000,
                    "sha256": hashlib.sha256(uid.encode()).hexdigest(),
                    "uploaded_by_id": referrer.pk if by_referrer else uploader.pk,
                })
    study_ids = copy_rows(Study, study_rows)
    for row in series_rows:
        row["study_id"] = study_ids[row["study_id"]]
    series_ids = copy_rows(Series, series_rows)
    for row in instance_rows:
        row["series_id"] = series_ids[row["series_id"]]
    copy_rows(Instance, instance_rows)
    # What the funnel writes when a person stores into a study: the rows visibility joins on.
    copy_rows(StudyAccess, [
        {"user_id": row["uploaded_by_id"], "study_id": study_ids[index], "reason": "uploaded"}
        for index, row in enumerate(instance_rows)
    ])

    return {
        "patient_ids": [p["patient_id"] for p in rng.sample(patients, 200)],
        "accessions": [s["accession_number"] for s in rng.sample(study_rows, 200)],
        "family": FAMILY,
        "given": GIVEN,
        "modalities": sorted({m for code in modality_codes for m in code.split("\\")}),
        "referrer_studies": referrer_studies,
    }


def copy_rows(model, rows: list[dict]) -> list[int]:
    """COPY ``rows`` into ``model``'s table (PostgreSQL), every other column at its field default;
    returns the new ids in order. Model instances and INSERTs would take a minute for 100k studies."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = [f for f in fields if f.attname in rows[0]]
    defaults = {}
    for f in fields:
        if f.attname not in rows[0]:
            value = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            defaults[f.column] = f.get_db_prep_save(value, connection)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        first = cursor.fetchone()[0] + 1
    ids = list(range(first, first + len(rows)))
    columns = ", ".join(f'"{c}"' for c in ["id", *(f.column for f in given), *defaults])
    constant = tuple(defaults.values())
    raw = connection.connection
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for pk, row in zip(ids, rows):
                copy.write_row((pk, *(row[f.attname] for f in given), *constant))
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {ids[-1]})")
    return ids

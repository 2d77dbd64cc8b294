"""A request to the ministry as a document: a page to print, sign and send (in Bahasa
Indonesia, as the office writes to the ministry), or CSV rows for a spreadsheet."""

from __future__ import annotations

import csv
import io
from html import escape

from jemput.inventory.service_layer.requests import FollowedRequest, RequestStatus
from jemput.shared.timezone import office_day

STATUS_WORDS = {
    RequestStatus.REQUESTED: "Diajukan",
    RequestStatus.PARTLY_RECEIVED: "Diterima sebagian",
    RequestStatus.RECEIVED: "Diterima",
}


def rows(followed: FollowedRequest) -> list[tuple[str, str]]:
    """The document's figures, as (field, value)."""
    request = followed.request
    return [
        ("request_id", request.id),
        ("date", office_day(request.created_at).isoformat()),
        ("location", request.location),
        ("quantity", str(request.quantity)),
        ("suggested_quantity", str(request.suggested_quantity)),
        ("daily_demand", f"{request.daily_demand:.2f}"),
        ("available", str(request.available)),
        ("print_ready_backlog", str(request.print_ready_backlog)),
        ("sukets_outstanding", str(request.sukets_outstanding)),
        ("reorder_point", str(request.reorder_point)),
        ("lead_time_days", str(request.lead_time_days)),
        ("signed_by", request.signed_by),
        ("note", request.note or ""),
        ("status", followed.status.value),
        ("received", str(followed.received)),
        ("outstanding", str(followed.outstanding)),
    ]


def csv_text(followed: FollowedRequest) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("field", "value"))
    for name, value in rows(followed):
        # A leading = + - @ would be a formula to a spreadsheet: quote it as text.
        writer.writerow((name, "'" + value if value[:1] in ("=", "+", "-", "@") else value))
    return out.getvalue()


def html_page(followed: FollowedRequest, regency_code: str) -> str:
    request = followed.request
    figures = [
        ("Jumlah blangko yang diminta", f"{request.quantity:,}".replace(",", ".")),
        ("Saran perhitungan sistem", f"{request.suggested_quantity:,}".replace(",", ".")),
        ("Rata-rata kebutuhan per hari", f"{request.daily_demand:.2f}".replace(".", ",")),
        ("Stok tersedia saat pengajuan", str(request.available)),
        ("Antrean cetak siap (PRR) tanpa blangko", str(request.print_ready_backlog)),
        ("SUKET yang masih beredar", str(request.sukets_outstanding)),
        ("Titik pemesanan ulang", str(request.reorder_point)),
        ("Waktu tunggu pengiriman (hari)", str(request.lead_time_days)),
        ("Status", STATUS_WORDS[followed.status]),
        ("Sudah diterima", str(followed.received)),
    ]
    table = "\n".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in figures
    )
    note = f"<p>Catatan: {escape(request.note)}</p>" if request.note else ""
    day = office_day(request.created_at)
    return f"""<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>Permohonan blangko KTP-el {escape(request.id)}</title>
<style>
body {{ font-family: serif; max-width: 42em; margin: 2em auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: .3em .6em; text-align: left; }}
td {{ text-align: right; }}
.signature {{ margin-top: 4em; }}
</style>
</head>
<body>
<p>Dinas Kependudukan dan Pencatatan Sipil, wilayah {escape(regency_code)}</p>
<p>Kepada Yth. Direktur Jenderal Kependudukan dan Pencatatan Sipil, Kementerian Dalam Negeri</p>
<h1>Permohonan Blangko KTP-el</h1>
<p>Nomor permohonan: {escape(request.id)}<br>Tanggal: {day.isoformat()}<br>
Lokasi penerimaan: {escape(request.location)}</p>
<p>Dengan ini kami mengajukan permohonan alokasi blangko KTP-el dengan perincian berikut:</p>
<table>
{table}
</table>
{note}
<p class="signature">Hormat kami,<br><br><br><br>{escape(request.signed_by)}</p>
</body>
</html>
"""

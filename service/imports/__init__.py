"""Spreadsheet imports: training attendance lists and SME survey waves, from CSV or XLSX.

    outcome = await import_file(recorder, project, content, actor=..., file_name="march.xlsx")
    template = template_workbook("training-attendance")          # blank XLSX

All or nothing: a file with any bad row writes nothing and raises ImportRefused with a row-by-row
report (row, column, value, reason); `annotated_copy` marks the problems in a copy of the file.
The same file twice is a no-op (its sha256 is the idempotency key); rows already in the log
unchanged are skipped; rows that would change recorded events are refused with a pointer to
CorrectionRecorded.

Modules: columns (the two layouts as data), sheets (reading CSV/XLSX), cells (one cell as its
column's type), mapping (rows → commands, catalog paths → cells), planning (validation against the
catalog, the write model and the log), importer (ledger, idempotency, recording), annotate,
templates, api (HTTP).
"""

from service.imports.annotate import AnnotatedCopy, annotated_copy
from service.imports.columns import IMPORT_KINDS, LAYOUTS, SME_SURVEY, TRAINING_ATTENDANCE, ImportKind
from service.imports.importer import ImportLedger, ImportOutcome, ImportRecord, import_file, import_id_of
from service.imports.planning import ImportRefused
from service.imports.sheets import MAX_FILE_BYTES, ImportFileError, RowProblem, read_sheet
from service.imports.templates import template_workbook

__all__ = [
    "IMPORT_KINDS",
    "LAYOUTS",
    "MAX_FILE_BYTES",
    "SME_SURVEY",
    "TRAINING_ATTENDANCE",
    "AnnotatedCopy",
    "ImportFileError",
    "ImportKind",
    "ImportLedger",
    "ImportOutcome",
    "ImportRecord",
    "ImportRefused",
    "RowProblem",
    "annotated_copy",
    "import_file",
    "import_id_of",
    "read_sheet",
    "template_workbook",
]

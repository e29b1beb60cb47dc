"""What a signed report becomes outside the editor: a PDF, a DICOM SR in the study, a FHIR
DiagnosticReport. Each output reads a ``document.ReportDocument`` (plain data), never the
models, so they are tested on their own and cannot change a report."""

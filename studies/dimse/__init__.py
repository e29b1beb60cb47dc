"""The DIMSE adapter: a C-ECHO / C-STORE SCP (pynetdicom) in front of the ingest funnel.

``server`` wires the Application Entity, ``handlers`` answer the DIMSE requests, ``limits``
enforces what pynetdicom leaves unchecked (PDU sizes, association timeouts), ``spool`` decides
where received datasets are written while they arrive.
"""

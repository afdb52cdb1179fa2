"""The auditor's pages: the audit trail, an engagement's lineage, and the words both show."""

"""Writes of the deployments app, one module per noun: ``ingest`` (uploads, archives and digest
deploys becoming deployments), ``releases`` (preview gate, promote, rollback) and ``site``
(site mode, the links page, function bindings). Reads are in ``deployments.selectors``."""

"""Reads of the deployments app, one module per noun: ``live`` (the cached live state and
manifest lookups of the profile route), ``deployments`` (history and what a deployment
holds), ``ingest`` (what a deploy still waits for, the upload log), ``releases`` (the
preview gate, releases, scheduled releases) and ``site`` (site mode, bindings, overview).
Writes are in ``deployments.services``."""

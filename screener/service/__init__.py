"""The screening service: a yente-compatible match API, OpenRefine reconciliation and file-screening jobs over
the same library calls as the CLI and the web app (`screener serve`)."""

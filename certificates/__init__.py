"""Documents: Jinja templates rendered by WeasyPrint, verification codes. Empty until
the documents issue; the package exists so the layout, packaging and Docker image
already carry it."""
